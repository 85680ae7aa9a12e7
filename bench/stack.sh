# Sourced by the bench scripts: build release, then start `seam simulate`
# and `seam serve` on the ticket-triage example (store mode $SYNC) on free
# loopback ports, in a temp folder removed on exit. Sets: root, seam, work,
# SIM_PORT, SEAM_PORT. A caller may set STACK_SED (a sed script run on the
# example's config) and STACK_TOML (TOML appended to it). Needs: oha,
# python3, curl.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
command -v oha >/dev/null || { echo "oha not found: cargo install oha --locked" >&2; exit 1; }

cargo build --release --quiet
seam="$root/target/release/seam"
work="$(mktemp -d)"
cleanup() { kill "${sim:-}" "${srv:-}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SIM_PORT="$(free_port)"; SEAM_PORT="$(free_port)"

"$seam" simulate --listen "127.0.0.1:$SIM_PORT" > "$work/sim.log" 2>&1 & sim=$!
cp -r examples/ticket-triage/schemas examples/ticket-triage/prompts "$work/"
sed -e "s#http://127.0.0.1:8787#http://127.0.0.1:$SIM_PORT#g" \
    -e "s#^synchronous = .*#synchronous = \"$SYNC\"#" \
    -e "s#^path = .*#path = \"$work/bench.db\"#" \
    -e "${STACK_SED:-}" \
    examples/ticket-triage/seam.toml > "$work/seam.toml"
if [ -n "${STACK_TOML:-}" ]; then printf '\n%s\n' "$STACK_TOML" >> "$work/seam.toml"; fi
SEAM_LOG=error "$seam" serve --config "$work/seam.toml" --listen "127.0.0.1:$SEAM_PORT" > "$work/serve.log" 2>&1 & srv=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$SEAM_PORT/readyz" >/dev/null 2>&1 && curl -fsS "http://127.0.0.1:$SIM_PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
