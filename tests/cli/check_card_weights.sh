#!/bin/sh
# A card that does not belong to its weights is refused (issue 13 item 12):
# the DNA denoiser's card beside the RNA denoiser's weights exits 2 naming
# both files; a card without weights_sha1 (an older svdd) runs with a
# warning saying it cannot be checked.
# Usage: check_card_weights.sh SVDD SOURCE_DIR OUT_DIR
set -eu
svdd=$1 source=$2 out=$3
rm -rf "$out" && mkdir -p "$out"
models="$source/experiments/models"
cp "$models/dna_mdlm.card.toml" "$out/swapped.card.toml"
cp "$models/rna_mdlm.pt" "$out/swapped.pt"
small="--set experiment.samples=2 --set experiment.batch_size=2 --no-progress"
code=0
"$svdd" run "$source/experiments/dna_enhancer_hepg2.toml" --out "$out/run_swapped" $small \
  --set model.checkpoint="$out/swapped.pt" > "$out/swapped.log" 2>&1 || code=$?
[ "$code" = 2 ] || { echo "swapped: exit $code, expected 2"; cat "$out/swapped.log"; exit 1; }
grep -q "swapped.card.toml describes other weights than .*swapped.pt" "$out/swapped.log" || {
  echo "swapped: no message naming both files:"; cat "$out/swapped.log"; exit 1; }

grep -v "^weights_sha1" "$models/dna_mdlm.card.toml" > "$out/older.card.toml"
cp "$models/dna_mdlm.pt" "$out/older.pt"
"$svdd" run "$source/experiments/dna_enhancer_hepg2.toml" --out "$out/run_older" $small \
  --set model.checkpoint="$out/older.pt" --set 'methods={pretrained={type="pretrained"}}' \
  > "$out/older.log" 2>&1 || { echo "older card: the run failed"; cat "$out/older.log"; exit 1; }
grep -q "older.card.toml records no weights_sha1" "$out/older.log" || {
  echo "older card: no warning:"; cat "$out/older.log"; exit 1; }
echo "cards are checked against their weights"
