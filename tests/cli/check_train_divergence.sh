#!/bin/sh
# A training whose loss turns NaN or infinite (issue 13 item 9: a learning
# rate of 1e30) stops with exit 1 naming the epoch and step, and writes no
# checkpoint and no card.
# Usage: check_train_divergence.sh SVDD SOURCE_DIR OUT_DIR
set -eu
svdd=$1 source=$2 out=$3
rm -rf "$out" && mkdir -p "$out"
code=0
"$svdd" train "$source/experiments/pretrain/value_toy_categorical.toml" --out "$out/v.pt" \
  --set training.rollouts=200 --set training.epochs=2 --set training.learning_rate=1e30 \
  > "$out/log" 2>&1 || code=$?
[ "$code" = 1 ] || { echo "exit $code, expected 1"; cat "$out/log"; exit 1; }
grep -qE "^svdd: failure: .*training stopped: the loss is -?(nan|inf) at epoch [0-9]+, step [0-9]+ \(learning rate 1e\+30\); no checkpoint written" \
  "$out/log" || { echo "no line naming the loss:"; cat "$out/log"; exit 1; }
[ ! -e "$out/v.pt" ] && [ ! -e "$out/v.card.toml" ] || { echo "a checkpoint was written"; exit 1; }
echo "a diverging training stops without a checkpoint"
