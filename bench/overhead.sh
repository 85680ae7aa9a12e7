#!/usr/bin/env bash
# seam's added latency over a zero-latency provider, measured in one run:
#   baseline  = oha → seam simulate                 (POST /v1/chat/completions)
#   seam      = oha → seam serve → seam simulate     (TARGET=pipeline: POST /v1/pipelines/triage/runs,
#                                                     TARGET=chat: POST /v1/chat/completions, model `small`)
# both at a fixed rate (RATE req/s for DURATION) with latency correction, then
# an open-throttle run for the maximum sustained rate. Added latency is the
# difference of the two at each percentile; the ratio is seam/baseline.
#
# Usage: bench/overhead.sh [RATE] [DURATION] [SYNCHRONOUS] [TARGET]
#   RATE=1000, DURATION=15s, SYNCHRONOUS=full|normal (store durability mode),
#   TARGET=pipeline|chat (which seam endpoint is measured)
# Needs: oha (cargo install oha --locked), python3, curl.
set -euo pipefail
RATE="${1:-1000}"
DURATION="${2:-15s}"
SYNC="${3:-full}"
TARGET="${4:-pipeline}"
source "$(dirname "$0")/stack.sh"

ticket='{"ticket_id":"T-4242","subject":"Charged twice for November","body":"My card was charged twice for the November invoice, please refund one.","customer":{"email":"dana@example.com","plan":"pro"}}'
echo "$ticket" > "$work/ticket.json"
# The provider request seam sends for that ticket, taken from its own audit.
run_id="$(curl -fsS "http://127.0.0.1:$SEAM_PORT/v1/pipelines/triage/runs" -d @"$work/ticket.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["run_id"])')"
curl -fsS "http://127.0.0.1:$SEAM_PORT/v1/runs/$run_id" | python3 -c '
import json, sys
run = json.load(sys.stdin)
prompt = next(l["record"] for l in run["layers"] if l["layer"] == "prompt")
schema = json.load(open(sys.argv[1]))
print(json.dumps({"model": "gpt-4o-mini", "messages": prompt["messages"], "max_tokens": 300, "temperature": 0.0,
    "response_format": {"type": "json_schema", "json_schema": {"name": "triage", "schema": schema, "strict": False}}}))
' "$work/schemas/triage.json" > "$work/chat.json"
if [ "$TARGET" = chat ]; then
  # The same request, to seam's OpenAI-compatible endpoint, for declared model `small`
  # (its upstream is gpt-4o-mini on the simulator; no cache: it is not opted in).
  sed 's/"model": "gpt-4o-mini"/"model": "small"/' "$work/chat.json" > "$work/seam_body.json"
  seam_url="http://127.0.0.1:$SEAM_PORT/v1/chat/completions"
else
  cp "$work/ticket.json" "$work/seam_body.json"
  seam_url="http://127.0.0.1:$SEAM_PORT/v1/pipelines/triage/runs"
fi

load() { # url body rate|max out
  local args=(-z "$DURATION" -c 64 --no-tui --output-format json -m POST -H 'content-type: application/json' -D "$2")
  if [ "$3" != max ]; then args+=(-q "$3" --latency-correction); fi
  oha "${args[@]}" "$1" > "$4"
}
# Warm both paths.
oha -z 3s -c 16 --no-tui -m POST -H 'content-type: application/json' -D "$work/chat.json" "http://127.0.0.1:$SIM_PORT/v1/chat/completions" >/dev/null
oha -z 3s -c 16 --no-tui -m POST -H 'content-type: application/json' -D "$work/seam_body.json" "$seam_url" >/dev/null

load "http://127.0.0.1:$SIM_PORT/v1/chat/completions" "$work/chat.json" "$RATE" "$work/base.json"
load "$seam_url" "$work/seam_body.json" "$RATE" "$work/seam.json"
load "http://127.0.0.1:$SIM_PORT/v1/chat/completions" "$work/chat.json" max "$work/base_max.json"
load "$seam_url" "$work/seam_body.json" max "$work/seam_max.json"

python3 - "$work" "$RATE" "$DURATION" "$SYNC" "$TARGET" <<'PY'
import json, sys, os
work, rate, duration, sync, target = sys.argv[1:6]
def load(name):
    return json.load(open(os.path.join(work, name)))
def pct(d, p):
    return d["latencyPercentiles"][p] * 1000.0
def ok_ratio(d):
    codes = d.get("statusCodeDistribution", {})
    total = sum(codes.values()) or 1
    return codes.get("200", 0) / total
b, s = load("base.json"), load("seam.json")
bm, sm = load("base_max.json"), load("seam_max.json")
print(f"seam overhead ({target} endpoint) — {rate} req/s for {duration}, store synchronous={sync}, 2 cores, release build")
print(f"{'':22}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'rps':>10}{'200s':>8}")
for name, d in (("provider alone", b), ("through seam", s)):
    print(f"{name:22}{pct(d,'p50'):10.3f}{pct(d,'p90'):10.3f}{pct(d,'p99'):10.3f}{d['summary']['requestsPerSec']:10.0f}{ok_ratio(d):8.1%}")
print(f"{'seam added':22}{pct(s,'p50')-pct(b,'p50'):10.3f}{pct(s,'p90')-pct(b,'p90'):10.3f}{pct(s,'p99')-pct(b,'p99'):10.3f}")
print(f"{'ratio seam/provider':22}{pct(s,'p50')/pct(b,'p50'):10.2f}{pct(s,'p90')/pct(b,'p90'):10.2f}{pct(s,'p99')/pct(b,'p99'):10.2f}")
print(f"max sustained rate (64 connections, unthrottled): provider {bm['summary']['requestsPerSec']:.0f} req/s, "
      f"through seam {sm['summary']['requestsPerSec']:.0f} req/s (ratio {sm['summary']['requestsPerSec']/bm['summary']['requestsPerSec']:.2f}), "
      f"seam 200s {ok_ratio(sm):.1%}")
PY
