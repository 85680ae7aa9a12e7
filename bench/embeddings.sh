#!/usr/bin/env bash
# The embedded embedding model (all-MiniLM-L6-v2) behind POST /v1/embeddings:
# time from process start to ready, resident memory after load and after
# the requests, one-text latency (p50/p95 of 50 requests, one at a time) and
# batch throughput (10 requests of 64 texts of ~25 words).
#
# Usage: bench/embeddings.sh
#   SEAM  the binary, default target/release/seam (built with --features embed
#         or local; this script does not build)
# Fetches the model (scripts/fetch-model.sh all-minilm-l6-v2). Needs: python3, curl.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seam="${SEAM:-$root/target/release/seam}"
[[ -x "$seam" ]] || { echo "error: $seam not found; build it first" >&2; exit 1; }
model="$("$root/scripts/fetch-model.sh" all-minilm-l6-v2)"

work="$(mktemp -d)"
cleanup() { kill "${server:-}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="$(free_port)"
printf '[store]\npath = "%s/b.db"\n\n[embeddings.minilm]\npath = "%s"\n' "$work" "$model" > "$work/seam.toml"

started=$(date +%s.%N)
"$seam" serve --config "$work/seam.toml" --listen "127.0.0.1:$port" > "$work/serve.log" 2>&1 & server=$!
until curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do sleep 0.02; done
ready=$(date +%s.%N)
rss_loaded=$(awk '/VmRSS/ {print $2}' "/proc/$server/status")

python3 - "$port" "$started" "$ready" "$rss_loaded" "$server" <<'PY'
import json, sys, time, urllib.request
port, t0, t1, rss0, pid = sys.argv[1:6]
url = f"http://127.0.0.1:{port}/v1/embeddings"
def post(inputs):
    req = urllib.request.Request(url, data=json.dumps({"model": "minilm", "input": inputs}).encode(),
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)
words = "the customer was charged twice for the same invoice and asks for a refund of the duplicate payment on the card this month".split()
post(["warm up"])
lat = []
for i in range(50):
    s = time.perf_counter(); post([f"ticket {i}: " + " ".join(words[: 8 + i % 16])]); lat.append(time.perf_counter() - s)
lat.sort()
texts = [f"{i} " + " ".join(words) for i in range(64)]
s = time.perf_counter(); tokens = 0
for _ in range(10):
    tokens += post(texts)["usage"]["prompt_tokens"]
took = time.perf_counter() - s
rss1 = int(open(f"/proc/{pid}/status").read().split("VmRSS:")[1].split()[0])
print(f"start to ready:       {float(t1) - float(t0):.2f} s (model load included)")
print(f"RSS after load:       {int(rss0) / 1024:.0f} MB; after the requests: {rss1 / 1024:.0f} MB")
print(f"one text (50 calls):  p50 {lat[24] * 1000:.1f} ms, p95 {lat[47] * 1000:.1f} ms")
print(f"batches of 64 texts:  {640 / took:.0f} texts/s, {tokens / took:.0f} tokens/s ({tokens // 640} tokens per text)")
PY
