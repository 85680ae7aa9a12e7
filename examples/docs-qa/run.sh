#!/usr/bin/env bash
# The docs-qa example end to end, with no API keys: the docs indexed into a
# local knowledge base (all-MiniLM-L6-v2 embeddings, fetched into models/),
# then questions answered through `seam serve` by the provider simulator,
# whose quotes are checked against the retrieved chunks.
#
#   ./examples/docs-qa/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

scripts/fetch-model.sh all-minilm-l6-v2
cargo build --release --features embed
seam="$root/target/release/seam"
config="$here/seam.toml"
rm -rf "$here/.seam"

"$seam" kb add "$here/docs" --config "$config"
"$seam" kb search "how do I get my money back" --top 3 --config "$config"

"$seam" simulate --listen 127.0.0.1:8787 >/dev/null 2>&1 &
sim=$!
"$seam" serve --config "$config" >/dev/null 2>&1 &
srv=$!
trap 'kill $srv $sim 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  curl -sf http://127.0.0.1:8080/readyz >/dev/null && break
  sleep 0.2
done

while read -r line; do
  q=$(printf '%s' "$line" | python3 -c 'import json,sys; print(json.dumps({"question": json.load(sys.stdin)["question"]}))')
  echo "== $q"
  curl -s -X POST http://127.0.0.1:8080/v1/pipelines/docs-qa/runs \
    -H 'content-type: application/json' -d "$q" |
    python3 -c 'import json,sys; a=json.load(sys.stdin); print(json.dumps(a.get("output", a.get("error")), indent=2))'
done < <(head -n 4 "$here/questions.jsonl")

"$seam" audit verify --config "$config"
