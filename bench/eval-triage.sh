#!/usr/bin/env bash
# The ticket-triage eval (`seam eval`) on a fresh store: per-field scores of
# the pipeline on the labelled tickets in examples/ticket-triage/eval.jsonl,
# refusal rate, latency and cost. The scoring is `seam eval`'s; this script
# only starts the simulator and isolates the store.
#
# Usage: bench/eval-triage.sh CONFIG [EVAL_FILE] [seam eval options...]
#   CONFIG     examples/ticket-triage/seam.toml (provider: seam simulate) or
#              examples/ticket-triage/local.toml (provider: the embedded model)
#   SEAM       the binary, default target/release/seam (built with
#              --features local for local.toml; this script does not build)
#   CONCURRENCY runs in flight, default 4
# The simulator is started on a free port, as the provider of seam.toml and
# as the helpdesk sink of both (eval runs are dry runs: nothing is delivered).
# Config, schemas and prompts are copied to a temp folder with a fresh
# store, so results never come from an old run. Exit code: `seam eval`'s.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
config="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
shift
eval_file="$root/examples/ticket-triage/eval.jsonl"
if [[ $# -gt 0 && "$1" != -* ]]; then eval_file="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; shift; fi
seam="${SEAM:-$root/target/release/seam}"
[[ -x "$seam" ]] || { echo "error: $seam not found; build it first" >&2; exit 2; }

work="$(mktemp -d)"
cleanup() { kill "${sim:-}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$seam" simulate --listen 127.0.0.1:0 > "$work/sim.log" 2>&1 & sim=$!
url=""
for _ in $(seq 1 100); do
  url="$(grep -o 'http://127.0.0.1:[0-9]*' "$work/sim.log" | head -1 || true)"
  [[ -n "$url" ]] && break
  sleep 0.1
done
[[ -n "$url" ]] || { echo "error: the simulator did not start" >&2; exit 2; }

here="$(dirname "$config")"
cp -r "$here/schemas" "$here/prompts" "$work/"
sed -e "s#http://127.0.0.1:8787#$url#g" \
    -e "s#^path = \"\.seam/[^\"]*\"#path = \"$work/eval.db\"#" \
    -e "s#\"\.\./\.\./models/#\"$root/models/#" \
    "$config" > "$work/config.toml"

exec_status=0
"$seam" eval triage --config "$work/config.toml" --set "$eval_file" \
  --concurrency "${CONCURRENCY:-4}" "$@" || exec_status=$?
exit "$exec_status"
