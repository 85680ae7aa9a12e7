#!/usr/bin/env bash
# The ticket-triage example end to end, with no API keys: start the provider
# simulator (which also plays the helpdesk), run the example tickets through
# `seam run`, show the results, one run's audit trail, the helpdesk's
# deliveries, and verify the audit chain.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

echo "==> building seam (release)"
cargo build --release --quiet
seam="$root/target/release/seam"
config="$here/seam.toml"
out="$here/.seam/results.jsonl"
rm -rf "$here/.seam"
mkdir -p "$here/.seam"

echo "==> starting the simulator on 127.0.0.1:8787 (faults: 20% 503, 10% fenced JSON, 10% schema-violating JSON)"
"$seam" simulate --listen 127.0.0.1:8787 --faults '503=20%,fenced=10%,violate=10%' > "$here/.seam/simulate.log" 2>&1 &
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
