#!/usr/bin/env bash
# Precision and recall of each built-in PII detector on the labelled corpus
# (tests/pii_corpus/corpus.jsonl; rewrite it with make_corpus.py). Exact
# spans only: a detection counts when its start, end and kind all match.
# Prints the table for all rows, then for the held-out rows alone, then
# every miss. No services needed.
#
# Usage: bench/pii-corpus.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --lib ingest::pii::corpus -- --nocapture 2>&1 |
    sed -n '/^All:/,/^test /p' | grep -v '^test '
