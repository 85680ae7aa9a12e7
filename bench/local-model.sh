#!/usr/bin/env bash
# The embedded local model (`kind = "local"`) on the ticket-triage batch:
# model load time, prompt and generation speed (tokens/s), and peak RSS of
# the whole `seam run` process.
#
# Usage: bench/local-model.sh [RUNS]
#   RUNS  times the batch is run (fresh process each time), default 3
# Builds release with --features local, fetches the weights
# (scripts/fetch-model.sh), runs examples/ticket-triage/tickets.jsonl
# through examples/ticket-triage/local.toml one ticket at a time
# (--concurrency 1, so per-request timings are not queueing), and reads the
# numbers from seam's own JSON logs ("local model loaded", "local
# generation") and from /usr/bin/time -v.
# Needs: cmake, clang, libclang-dev (to build), python3, pip, unzip, GNU time.
set -euo pipefail
RUNS="${1:-3}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
[[ -x /usr/bin/time ]] || { echo "GNU time not found: apt-get install time" >&2; exit 1; }

cargo build --release --features local --quiet
seam="$root/target/release/seam"
model="$(scripts/fetch-model.sh)"

work="$(mktemp -d)"
cleanup() { kill "${sim:-}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="$(free_port)"
# The helpdesk the pipeline delivers to.
"$seam" simulate --listen "127.0.0.1:$port" > "$work/sim.log" 2>&1 & sim=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
cp -r examples/ticket-triage/schemas examples/ticket-triage/prompts "$work/"

for i in $(seq 1 "$RUNS"); do
  sed -e "s#http://127.0.0.1:8787#http://127.0.0.1:$port#g" \
      -e "s#^path = \"\.seam/[^\"]*\"#path = \"$work/run$i.db\"#" \
      -e "s#\"\.\./\.\./models/SmolLM2-135M-Instruct.Q4_1.gguf\"#\"$model\"#" \
      examples/ticket-triage/local.toml > "$work/local.toml"
  SEAM_LOG="warn,seam=info,seam::infer::providers::local=debug" SEAM_LOG_FORMAT=json \
    /usr/bin/time -v -o "$work/time$i.txt" \
    "$seam" run triage --config "$work/local.toml" --input examples/ticket-triage/tickets.jsonl \
      --output "$work/out$i.jsonl" --concurrency 1 --drain-secs 5 2> "$work/log$i.jsonl" || true
  # Baseline in the same run: the same batch through seam.toml, whose model
  # is the zero-latency simulator, so the difference is the model's.
  sed -e "s#http://127.0.0.1:8787#http://127.0.0.1:$port#g" \
      -e "s#^path = \"\.seam/[^\"]*\"#path = \"$work/base$i.db\"#" \
      examples/ticket-triage/seam.toml > "$work/base.toml"
  /usr/bin/time -v -o "$work/basetime$i.txt" \
    "$seam" run triage --config "$work/base.toml" --input examples/ticket-triage/tickets.jsonl \
      --output "$work/base$i.jsonl" --concurrency 1 --drain-secs 5 2> /dev/null || true
done

python3 - "$work" "$RUNS" "$model" <<'PY'
import json, os, re, statistics, sys
work, runs, model = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def events(path, message):
    out = []
    for line in open(path):
        try:
            e = json.loads(line)
        except ValueError:
            continue
        f = e.get("fields", {})
        if f.get("message") == message:
            out.append(f)
    return out
def timing(path):
    t = open(path).read()
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1)
    m, sec = wall.rsplit(":", 1)
    return rss_kb / 1024, int(m.split(":")[-1]) * 60 + float(sec)
rows = []
for i in range(1, runs + 1):
    loaded = events(os.path.join(work, f"log{i}.jsonl"), "local model loaded")
    gens = events(os.path.join(work, f"log{i}.jsonl"), "local generation")
    rss_mb, wall = timing(os.path.join(work, f"time{i}.txt"))
    base_rss, base_wall = timing(os.path.join(work, f"basetime{i}.txt"))
    outs = [json.loads(l) for l in open(os.path.join(work, f"out{i}.jsonl"))]
    ok = sum(1 for o in outs if "result" in o)
    pt = sum(g["prompt_tokens"] for g in gens); pms = sum(g["prompt_ms"] for g in gens)
    ot = sum(g["output_tokens"] for g in gens); gms = sum(g["generate_ms"] for g in gens)
    rows.append(dict(load_ms=loaded[0]["load_ms"] if loaded else float("nan"), calls=len(gens), ok=ok,
                     prompt_tps=pt / (pms / 1000) if pms else 0, gen_tps=ot / (gms / 1000) if gms else 0,
                     out_tokens=ot, rss_mb=rss_mb, wall=wall, base_rss=base_rss, base_wall=base_wall))
print(f"model {os.path.basename(model)}, {runs} run(s) of examples/ticket-triage/tickets.jsonl (7 lines, 5 valid), --concurrency 1")
print(f"{'run':>3} {'load ms':>8} {'calls':>5} {'ok':>3} {'prompt tok/s':>12} {'gen tok/s':>9} {'out tok':>7} {'RSS MB':>6} {'wall s':>6} | {'sim RSS MB':>10} {'sim wall s':>10}")
for i, r in enumerate(rows, 1):
    print(f"{i:>3} {r['load_ms']:>8} {r['calls']:>5} {r['ok']:>3} {r['prompt_tps']:>12.0f} {r['gen_tps']:>9.1f} {r['out_tokens']:>7} {r['rss_mb']:>6.0f} {r['wall']:>6.2f} | {r['base_rss']:>10.0f} {r['base_wall']:>10.2f}")
med = lambda k: statistics.median(r[k] for r in rows)
print(f"median: load {med('load_ms'):.0f} ms, prompt {med('prompt_tps'):.0f} tok/s, generation {med('gen_tps'):.1f} tok/s, "
      f"peak RSS {med('rss_mb'):.0f} MB = {med('rss_mb') / med('base_rss'):.1f}x the simulator run ({med('base_rss'):.0f} MB), "
      f"wall {med('wall'):.2f} s = {med('wall') / med('base_wall'):.0f}x ({med('base_wall'):.2f} s)")
PY
