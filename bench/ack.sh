#!/usr/bin/env bash
# Durable acknowledgements of background events: how many events a second
# seam commits to its queue (SQLite, group commit) and answers 202, and the
# ack latency, while its workers run the queue against the zero-latency
# simulator. Measured in one run against a baseline: `GET /healthz` on the
# same server (the HTTP floor, no store).
#
#   baseline = oha → seam serve GET /healthz
#   ack      = oha → seam serve POST /v1/pipelines/triage/runs, Prefer: respond-async
#              (every 202 is answered only after the event's row is committed)
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
source "$(dirname "$0")/stack.sh"
echo '{"ticket_id":"T-4242","subject":"Charged twice for November","body":"My card was charged twice for the November invoice, please refund one.","customer":{"email":"dana@example.com","plan":"pro"}}' > "$work/ticket.json"

base=(-z "$DURATION" -c "$CONNS" --no-tui --output-format json)
oha -z 2s -c 16 --no-tui "http://127.0.0.1:$SEAM_PORT/healthz" > /dev/null
oha "${base[@]}" "http://127.0.0.1:$SEAM_PORT/healthz" > "$work/floor.json"
post=(-m POST -H 'content-type: application/json' -H 'prefer: respond-async' -D "$work/ticket.json")
# The fixed rate first, on a fresh store, then the unthrottled run.
oha "${base[@]}" -q "$RATE" --latency-correction "${post[@]}" \
  "http://127.0.0.1:$SEAM_PORT/v1/pipelines/triage/runs" > "$work/rate.json"
oha "${base[@]}" "${post[@]}" "http://127.0.0.1:$SEAM_PORT/v1/pipelines/triage/runs" > "$work/ack.json"
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
f = json.load(open(os.path.join(work, "floor.json")))
a = json.load(open(os.path.join(work, "ack.json")))
r = json.load(open(os.path.join(work, "rate.json")))
def pct(d, p): return d["latencyPercentiles"][p] * 1000.0
codes = a.get("statusCodeDistribution", {})
total = sum(codes.values()) or 1
print(f"durable acks — {duration}, {conns} connections, store synchronous={sync}, 2 cores, release build")
print(f"{'':26}{'rps':>10}{'p50 ms':>10}{'p99 ms':>10}")
for name, d in (("GET /healthz (floor)", f), ("202 ack, unthrottled", a), (f"202 ack at {rate}/s", r)):
    print(f"{name:26}{d['summary']['requestsPerSec']:10.0f}{pct(d,'p50'):10.3f}{pct(d,'p99'):10.3f}")
print(f"ack/floor throughput ratio {a['summary']['requestsPerSec']/f['summary']['requestsPerSec']:.2f}; "
      f"202s {codes.get('202', 0)}/{total}; queue rows by status after: {queued}")
PY
