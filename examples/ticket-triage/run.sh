#!/usr/bin/env bash
# The ticket-triage example end to end, with no API keys.
#
#   ./examples/ticket-triage/run.sh              # a real model, in-process
#   ./examples/ticket-triage/run.sh --simulator  # the provider simulator
#
# By default seam is built with the embedded local model (llama.cpp; the
# first build takes about ten minutes on two cores and needs cmake, clang
# and libclang-dev, installed here with apt when missing), the weights of
# SmolLM2-135M-Instruct (~100 MB, sha256-checked) are fetched into models/,
# and every ticket is triaged by that model under the output JSON Schema
# (examples/ticket-triage/local.toml).
#
# With --simulator the model is `seam simulate` speaking the OpenAI wire
# format with injected faults (20% 503, 10% fenced JSON, 10% JSON that
# breaks the schema), so retries and repairs show (seam.toml).
#
# Either way the simulator also plays the helpdesk the triage is delivered
# to; the script prints the results, one run's audit trail, what the
# helpdesk received, and verifies the audit chain.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

mode=local
case "${1:-}" in
  "") ;;
  --simulator) mode=simulator ;;
  *) echo "usage: $0 [--simulator]" >&2; exit 2 ;;
esac

# Install Debian packages that are missing: as root directly, otherwise
# with sudo; without either, say what to install.
apt_install() {
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  elif command -v sudo >/dev/null && command -v apt-get >/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    echo "error: this needs $* installed (Debian: apt-get install $*)" >&2
    exit 1
  fi
}
has_libclang() {
  compgen -G '/usr/lib/llvm-*/lib/libclang*.so*' >/dev/null ||
    compgen -G '/usr/lib/*/libclang*.so*' >/dev/null
}

missing=()
command -v curl >/dev/null || missing+=(curl)
if [[ "$mode" == local ]]; then
  command -v cmake >/dev/null || missing+=(cmake)
  command -v clang >/dev/null || missing+=(clang)
  has_libclang || missing+=(libclang-dev)
  command -v unzip >/dev/null || command -v python3 >/dev/null || missing+=(unzip)
fi
if [[ "${#missing[@]}" -gt 0 ]]; then
  echo "==> installing ${missing[*]}"
  apt_install "${missing[@]}"
fi

if [[ "$mode" == local ]]; then
  echo "==> building seam (release, with the embedded local model)"
  cargo build --release --quiet --features local
  echo "==> fetching the model weights"
  scripts/fetch-model.sh >/dev/null
  config="$here/local.toml"
  faults=""
else
  echo "==> building seam (release)"
  cargo build --release --quiet
  config="$here/seam.toml"
  faults='503=20%,fenced=10%,violate=10%'
fi
seam="$root/target/release/seam"
out="$here/.seam/results.jsonl"
rm -rf "$here/.seam"
mkdir -p "$here/.seam"

if [[ -n "$faults" ]]; then
  echo "==> starting the simulator on 127.0.0.1:8787 (model faults: $faults)"
  "$seam" simulate --listen 127.0.0.1:8787 --faults "$faults" > "$here/.seam/simulate.log" 2>&1 &
else
  echo "==> starting the simulator on 127.0.0.1:8787 (it plays the helpdesk)"
  "$seam" simulate --listen 127.0.0.1:8787 > "$here/.seam/simulate.log" 2>&1 &
fi
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  curl -fsS http://127.0.0.1:8787/healthz >/dev/null 2>&1 && break
  sleep 0.1
done

echo "==> seam check"
"$seam" check --config "$config"

echo "==> seam run triage --input tickets.jsonl"
"$seam" run triage --config "$config" --input "$here/tickets.jsonl" --output "$out" || true
echo
echo "==> results ($out)"
cat "$out"
echo
run_id="$(grep -o '"run_id":"[^"]*"' "$out" | head -1 | cut -d'"' -f4)"
echo "==> seam audit show $run_id"
"$seam" audit show "$run_id" --config "$config"
echo "==> what the helpdesk received"
curl -fsS http://127.0.0.1:8787/helpdesk/deliveries
echo
echo "==> seam audit verify"
"$seam" audit verify --config "$config"
