#!/bin/sh
# svdd train --resume gives the weights of an uninterrupted run: the toy
# value network trained 3 epochs straight, and trained with --stop-after 1
# then --resume to 3, must write byte-identical checkpoints (of the same file
# name: a checkpoint's archive names its file).
# Usage: check_train_resume.sh SVDD SOURCE_DIR OUT_DIR
set -eu
svdd=$1 source=$2 out=$3
file=$source/experiments/pretrain/value_toy_categorical.toml
rm -rf "$out" && mkdir -p "$out/straight" "$out/resumed"
small="--set training.rollouts=200 --set training.epochs=3"
"$svdd" train "$file" --out "$out/straight/v.pt" $small
"$svdd" train "$file" --out "$out/resumed/v.pt" $small --stop-after 1
if [ -e "$out/resumed/v.pt" ]; then echo "a stopped training wrote its checkpoint"; exit 1; fi
"$svdd" train "$file" --out "$out/resumed/v.pt" $small --resume
cmp "$out/straight/v.pt" "$out/resumed/v.pt"
# ... and the card's per-epoch figures of the uninterrupted run.
figures() { grep -E "^(train|heldout)_loss_per_epoch|^heldout_correlation" "$1"; }
[ "$(figures "$out/straight/v.card.toml")" = "$(figures "$out/resumed/v.card.toml")" ] || {
  echo "the resumed card's figures differ:"; figures "$out/straight/v.card.toml"
  figures "$out/resumed/v.card.toml"; exit 1; }
# A state of another configuration is refused, naming the key.
if "$svdd" train "$file" --out "$out/resumed/v.pt" $small --set training.batch_rows=64 --resume \
    2> "$out/refused.txt"; then
  echo "--resume accepted another configuration"; exit 1
fi
grep -q "training.batch_rows was 512, is now 64" "$out/refused.txt"
echo "resumed weights are identical"
