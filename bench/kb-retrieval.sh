#!/usr/bin/env bash
# Retrieval quality of the docs-qa knowledge base: hit@1 and hit@3 over the
# labelled questions in examples/docs-qa/questions.jsonl, for BM25 alone,
# vectors alone and both fused by reciprocal rank.
#
#   bench/kb-retrieval.sh            (needs a build with --features embed)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seam="${SEAM:-$root/target/release/seam}"
export SEAM_LOG=warn
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$root/examples/docs-qa/." "$work/"
rm -rf "$work/.seam"
sed -i "s|path = \"../../models/all-minilm-l6-v2\"|path = \"$root/models/all-minilm-l6-v2\"|" "$work/seam.toml"
"$seam" kb add "$work/docs" --config "$work/seam.toml"
for mode in bm25 vector hybrid; do
  at1=0; at3=0; n=0
  while read -r line; do
    q=$(printf '%s' "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["question"])')
    want=$(printf '%s' "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["doc"])')
    got=$("$seam" kb search "$q" --mode "$mode" --top 3 --json --config "$work/seam.toml" |
      python3 -c 'import json,sys; print(" ".join(h["source"] for h in json.load(sys.stdin)["hits"]))')
    n=$((n + 1))
    first=${got%% *}
    [ "$first" = "$want" ] && at1=$((at1 + 1))
    case " $got " in *" $want "*) at3=$((at3 + 1)) ;; esac
    [ "$first" = "$want" ] || [ -z "${VERBOSE:-}" ] || echo "  $mode miss@1: $q -> $got (want $want)"
  done < "$root/examples/docs-qa/questions.jsonl"
  printf '%-6s hit@1 %2d/%d  hit@3 %2d/%d\n' "$mode" "$at1" "$n" "$at3" "$n"
done
