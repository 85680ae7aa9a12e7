#!/usr/bin/env bash
# Durable acknowledgements of background events: how many events a second
# seam commits to its queue (SQLite, group commit) and answers 202, and the
# ack latency, while its workers run the queue against the zero-latency
# simulator. Measured in one run against a baseline: `GET /healthz` on the
# same server (the HTTP floor, no store).
#
#   baseline = oha → seam serve GET /healthz
#   webhook  = oha → seam serve POST /hooks/triage, HMAC-SHA256-signed
#              (`hmac` scheme; the signature is verified, and as the bench
#              pipeline has no `event_id`, every delivery is a new event)
#   ack      = oha → seam serve POST /v1/pipelines/triage/runs, Prefer: respond-async
#   (every 202 is answered only after the event's row is committed)
#
# Usage: bench/ack.sh [DURATION] [CONNECTIONS] [SYNCHRONOUS] [RATE]
#   DURATION=10s, CONNECTIONS=64, SYNCHRONOUS=full|normal (store durability
#   mode), RATE=5000: besides the unthrottled run (maximum rate), one at
#   RATE events/s with latency correction gives the ack latency at that load.
# Needs: oha (cargo install oha --locked), python3, curl.
set -euo pipefail
DURATION="${1:-10s}"
CONNS="${2:-64}"
SYNC="${3:-full}"
RATE="${4:-5000}"
# The bench pipeline: signed webhooks, no `event_id` (each delivery is new).
STACK_TOML='[pipelines.triage.webhook]
scheme = "hmac"
secret = "env:SEAM_BENCH_HOOK_SECRET"
header = "x-signature"
prefix = "sha256="'
STACK_SED='/^event_id = /d'
export SEAM_BENCH_HOOK_SECRET="bench-webhook-secret-0123456789"
source "$(dirname "$0")/stack.sh"
echo '{"ticket_id":"T-4242","subject":"Charged twice for November","body":"My card was charged twice for the November invoice, please refund one.","customer":{"email":"dana@example.com","plan":"pro"}}' > "$work/ticket.json"
sig="$(python3 -c 'import hmac,hashlib,sys; print(hmac.new(sys.argv[1].encode(), open(sys.argv[2],"rb").read(), hashlib.sha256).hexdigest())' "$SEAM_BENCH_HOOK_SECRET" "$work/ticket.json")"

base=(-z "$DURATION" -c "$CONNS" --no-tui --output-format json)
oha -z 2s -c 16 --no-tui "http://127.0.0.1:$SEAM_PORT/healthz" > /dev/null
oha "${base[@]}" "http://127.0.0.1:$SEAM_PORT/healthz" > "$work/floor.json"
hook=(-m POST -H 'content-type: application/json' -H "x-signature: sha256=$sig" -D "$work/ticket.json")
post=(-m POST -H 'content-type: application/json' -H 'prefer: respond-async' -D "$work/ticket.json")
# Fixed rate with latency correction first, on a fresh store (signed
# webhooks, then the async API), then signed webhooks unthrottled.
oha "${base[@]}" -q "$RATE" --latency-correction "${hook[@]}" \
  "http://127.0.0.1:$SEAM_PORT/hooks/triage" > "$work/hook_rate.json"
oha "${base[@]}" -q "$RATE" --latency-correction "${post[@]}" \
  "http://127.0.0.1:$SEAM_PORT/v1/pipelines/triage/runs" > "$work/api_rate.json"
oha "${base[@]}" "${hook[@]}" "http://127.0.0.1:$SEAM_PORT/hooks/triage" > "$work/hook_max.json"
sleep 1
queued="$(python3 - "$work/bench.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(dict(db.execute("SELECT status, COUNT(*) FROM queue GROUP BY status").fetchall()))
PY
)"

python3 - "$work" "$DURATION" "$CONNS" "$SYNC" "$queued" "$RATE" <<'PY'
import json, sys, os
work, duration, conns, sync, queued, rate = sys.argv[1:7]
load = lambda n: json.load(open(os.path.join(work, n + ".json")))
f, hr, ar, hm = load("floor"), load("hook_rate"), load("api_rate"), load("hook_max")
def pct(d, p): return d["latencyPercentiles"][p] * 1000.0
print(f"durable acks — {duration}, {conns} connections, store synchronous={sync}, 2 cores, release build, workers running")
print(f"{'':34}{'rps':>10}{'p50 ms':>10}{'p99 ms':>10}{'  2xx/all':>14}")
for name, d in (("GET /healthz (floor)", f), (f"signed webhook 202 at {rate}/s", hr),
                (f"async API 202 at {rate}/s", ar), ("signed webhook 202, unthrottled", hm)):
    codes = d.get("statusCodeDistribution", {})
    ok = sum(v for k, v in codes.items() if k.startswith("2"))
    print(f"{name:34}{d['summary']['requestsPerSec']:10.0f}{pct(d,'p50'):10.3f}{pct(d,'p99'):10.3f}"
          f"{ok:>8}/{sum(codes.values())}")
print(f"webhook ack/floor throughput ratio {hm['summary']['requestsPerSec']/f['summary']['requestsPerSec']:.2f}; "
      f"queue rows by status after: {queued}")
PY
