#!/bin/sh
# SIGINT and SIGTERM stop a run at its next step with a line saying what was
# kept and how to continue, and exit 128 + signal (130, 143); resuming then
# gives the samples of an uninterrupted run, byte for byte. The same for
# svdd train, whose state of the last finished epoch is kept.
# Usage: check_signals.sh SVDD SOURCE_DIR OUT_DIR
set -eu
svdd=$1 source=$2 out=$3
rm -rf "$out" && mkdir -p "$out"
small="--set experiment.samples=64 --set experiment.batch_size=8"
"$svdd" run "$source/experiments/quickstart.toml" --out "$out/ref" --no-progress $small \
  > /dev/null 2>&1

# stopped SIGNAL CODE: starts the run, signals it once its first batch is
# recorded, checks the exit code and the message, then resumes it.
stopped() {
  signal=$1 code=$2 dir="$out/$1"
  "$svdd" run "$source/experiments/quickstart.toml" --out "$dir" --no-progress $small \
    > "$dir.log" 2>&1 &
  pid=$!
  tries=0
  until [ -f "$dir/batches.csv" ] && [ "$(wc -l < "$dir/batches.csv")" -ge 2 ]; do
    tries=$((tries + 1))
    [ $tries -lt 600 ] || { echo "$signal: no batch finished in 60 s"; kill -9 $pid; exit 1; }
    sleep 0.1
  done
  kill -s "$signal" $pid
  status=0
  wait $pid || status=$?
  [ "$status" = "$code" ] || { echo "$signal: exit $status, expected $code"; cat "$dir.log"; exit 1; }
  grep -qE "svdd: stopped by SIG$signal: [0-9]+ finished batches are kept in .*; continue with \`svdd run --resume" \
    "$dir.log" || { echo "$signal: no line saying what was kept:"; cat "$dir.log"; exit 1; }
  "$svdd" run --resume "$dir" --no-progress > "$dir.resume.log" 2>&1 || {
    echo "$signal: resume failed"; cat "$dir.resume.log"; exit 1; }
  cmp "$out/ref/samples.csv" "$dir/samples.csv"
}
stopped INT 130
stopped TERM 143

# Training: stopped in its second epoch, it keeps the first epoch's state.
train="$source/experiments/pretrain/value_toy_categorical.toml"
"$svdd" train "$train" --out "$out/train/v.pt" --set training.rollouts=400 \
  --set training.epochs=1000 > "$out/train.log" 2>&1 &
pid=$!
tries=0
until grep -q "epoch 1/1000" "$out/train.log" 2>/dev/null; do
  tries=$((tries + 1))
  [ $tries -lt 1200 ] || { echo "train: no epoch finished in 120 s"; kill -9 $pid; exit 1; }
  sleep 0.1
done
kill -s INT $pid
status=0
wait $pid || status=$?
[ "$status" = 130 ] || { echo "train: exit $status, expected 130"; cat "$out/train.log"; exit 1; }
grep -qE "svdd: stopped by SIGINT in epoch [0-9]+ of 1000: .*v\.resume\.pt holds the state after epoch [0-9]+; continue with --resume" \
  "$out/train.log" || { echo "train: no line saying what was kept:"; cat "$out/train.log"; exit 1; }
[ ! -e "$out/train/v.pt" ] || { echo "train: a stopped training wrote its checkpoint"; exit 1; }
echo "SIGINT and SIGTERM kept the finished work and said how to continue"
