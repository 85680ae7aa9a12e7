#!/usr/bin/env bash
# Per-field accuracy of the ticket-triage pipeline on the labelled tickets in
# examples/ticket-triage/eval.jsonl (input + expected category/priority).
# A run that fails counts as wrong on every field.
#
# Usage: bench/eval-triage.sh CONFIG [EVAL_FILE]
#   CONFIG     examples/ticket-triage/seam.toml (provider: seam simulate) or
#              examples/ticket-triage/local.toml (provider: the embedded model)
#   SEAM       the binary, default target/release/seam (built with
#              --features local for local.toml; this script does not build)
#   CONCURRENCY runs in flight, default 4
# The simulator is started on a free port, as the provider of seam.toml and
# as the helpdesk sink of both. Config, schemas and prompts are copied to a
# temp folder with a fresh store, so results never come from an old run.
# Needs: python3.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
config="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
eval_file="${2:-$root/examples/ticket-triage/eval.jsonl}"
seam="${SEAM:-$root/target/release/seam}"
[[ -x "$seam" ]] || { echo "error: $seam not found; build it first" >&2; exit 1; }

work="$(mktemp -d)"
cleanup() { kill "${sim:-}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="$(free_port)"
"$seam" simulate --listen "127.0.0.1:$port" > "$work/sim.log" 2>&1 & sim=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

here="$(dirname "$config")"
cp -r "$here/schemas" "$here/prompts" "$work/"
sed -e "s#http://127.0.0.1:8787#http://127.0.0.1:$port#g" \
    -e "s#^path = \"\.seam/[^\"]*\"#path = \"$work/eval.db\"#" \
    -e "s#\"\.\./\.\./models/#\"$root/models/#" \
    "$config" > "$work/config.toml"

python3 -c '
import json, sys
with open(sys.argv[1]) as src, open(sys.argv[2], "w") as dst:
    for line in src:
        if line.strip():
            dst.write(json.dumps(json.loads(line)["input"]) + "\n")
' "$eval_file" "$work/inputs.jsonl"

started=$(date +%s.%N)
"$seam" run triage --config "$work/config.toml" --input "$work/inputs.jsonl" \
  --output "$work/out.jsonl" --concurrency "${CONCURRENCY:-4}" --drain-secs 5 2> "$work/run.log" || true
ended=$(date +%s.%N)

python3 - "$eval_file" "$work/out.jsonl" "$(basename "$1")" "$started" "$ended" <<'PY'
import json, sys
eval_file, out_file, name, t0, t1 = sys.argv[1:6]
expected = [json.loads(l)["expected"] for l in open(eval_file) if l.strip()]
tickets = [json.loads(l)["input"]["ticket_id"] for l in open(eval_file) if l.strip()]
results = {}
for l in open(out_file):
    r = json.loads(l)
    results[r["line"]] = r
fields = ["category", "priority"]
right = {f: 0 for f in fields}
both = ok = 0
misses = []
for i, exp in enumerate(expected, start=1):
    r = results.get(i, {})
    out = r.get("result", {}).get("output")
    if out is None:
        misses.append(f"  {tickets[i-1]}: run failed: {r.get('error', {}).get('type', 'no result')}")
        continue
    ok += 1
    hits = [f for f in fields if out.get(f) == exp[f]]
    for f in hits:
        right[f] += 1
    if len(hits) == len(fields):
        both += 1
    else:
        got = ", ".join(f"{f}={out.get(f)} (want {exp[f]})" for f in fields if f not in hits)
        misses.append(f"  {tickets[i-1]}: {got}")
n = len(expected)
print(f"{name}: {n} labelled tickets, {ok} verified outputs, {float(t1) - float(t0):.1f} s")
for f in fields:
    print(f"  {f:<9} accuracy {right[f]}/{n} = {100 * right[f] / n:.0f}%")
print(f"  both      accuracy {both}/{n} = {100 * both / n:.0f}%")
print("misses:")
print("\n".join(misses) if misses else "  none")
PY
