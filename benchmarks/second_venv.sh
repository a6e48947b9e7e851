#!/usr/bin/env bash
# A second, fresh virtual environment decodes what the first encoded, and the reverse.
#
#   bash benchmarks/second_venv.sh [FILE] [PRESET ...]
#
# Installs a clean clone of this repository (non-editable, the pinned dependencies) into
# a new venv in a temporary folder, then, with the compilation cache off on both sides,
# compresses FILE with each preset in .venv and decompresses it in the new venv, and the
# other way round; the two .oz files must be byte-identical.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
FILE=${1:-$REPO/../shared/data/canterbury/asyoulik.txt}
shift || true
PRESETS=${*:-default small max}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
git clone -q "$REPO" "$WORK/clone"
python3 -m venv "$WORK/venv2"
"$WORK/venv2/bin/pip" install -q "$WORK/clone"
export ONLINEZIP_CACHE=off
ONE=$REPO/.venv/bin/onlinezip TWO=$WORK/venv2/bin/onlinezip
for p in $PRESETS; do
  "$ONE" compress "$FILE" -o "$WORK/a-$p.oz" --preset "$p" -q
  "$TWO" decompress "$WORK/a-$p.oz" -o "$WORK/back-a-$p" -q
  "$TWO" compress "$FILE" -o "$WORK/b-$p.oz" --preset "$p" -q
  "$ONE" decompress "$WORK/b-$p.oz" -o "$WORK/back-b-$p" -q
  cmp "$FILE" "$WORK/back-a-$p" && cmp "$FILE" "$WORK/back-b-$p" && cmp "$WORK/a-$p.oz" "$WORK/b-$p.oz"
  echo "$p: .venv -> fresh venv OK, fresh venv -> .venv OK, identical .oz ($(sha256sum "$WORK/a-$p.oz" | cut -c1-16))"
done
