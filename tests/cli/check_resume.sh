#!/bin/sh
# What `svdd run --resume` checks (issue 13 items 1 and 2): a folder whose
# config.toml was edited is refused naming the key; a finished batch whose
# rows are missing, cut or repeated in samples.csv is redone, so the resumed
# folder holds the samples of an uninterrupted run; a damaged batches.csv
# line is refused naming the file and line.
# Usage: check_resume.sh SVDD SOURCE_DIR OUT_DIR
set -eu
svdd=$1 source=$2 out=$3
rm -rf "$out" && mkdir -p "$out"
"$svdd" run "$source/experiments/quickstart.toml" --out "$out/ref" --no-progress \
  --set experiment.samples=24 --set experiment.batch_size=8 > /dev/null 2>&1
rows() { tail -n +2 "$1/samples.csv" | sort; }

# resumed NAME DAMAGE: damages a copy of the finished folder with the shell
# command DAMAGE (run inside it), resumes it, and checks it then holds the
# reference's samples and batches.
resumed() {
  name=$1 damage=$2
  cp -r "$out/ref" "$out/$name"
  (cd "$out/$name" && sh -c "$damage")
  if ! "$svdd" run --resume "$out/$name" --no-progress > "$out/$name.log" 2>&1; then
    echo "$name: resume failed"; cat "$out/$name.log"; exit 1
  fi
  grep -q "redoing the batch" "$out/$name.log" || { echo "$name: nothing redone"; exit 1; }
  [ "$(rows "$out/ref")" = "$(rows "$out/$name")" ] || { echo "$name: samples differ"; exit 1; }
  [ "$(wc -l < "$out/ref/batches.csv")" = "$(wc -l < "$out/$name/batches.csv")" ] || {
    echo "$name: batches.csv has another number of batches"; exit 1; }
}
resumed deleted 'rm samples.csv'
resumed cut 'truncate -s -7 samples.csv'
resumed dropped 'sed -i 12,14d samples.csv'
resumed repeated 'sed -i 5p samples.csv'
resumed batch_cut 'truncate -s -3 batches.csv'

# refused NAME DAMAGE PATTERN: the resume exits 2 with PATTERN in its message
# and leaves the damaged folder's samples.csv as it was.
refused() {
  name=$1 damage=$2 pattern=$3
  cp -r "$out/ref" "$out/$name"
  (cd "$out/$name" && sh -c "$damage")
  cp "$out/$name/samples.csv" "$out/$name.samples"
  code=0
  "$svdd" run --resume "$out/$name" --no-progress > "$out/$name.log" 2>&1 || code=$?
  [ "$code" = 2 ] || { echo "$name: exit $code, expected 2"; cat "$out/$name.log"; exit 1; }
  grep -qE -- "$pattern" "$out/$name.log" || {
    echo "$name: no '$pattern' in:"; cat "$out/$name.log"; exit 1; }
  cmp -s "$out/$name.samples" "$out/$name/samples.csv" || { echo "$name: samples.csv changed"; exit 1; }
}
refused batch_size 'sed -i "s/^batch_size = 8/batch_size = 4/" config.toml' \
  "experiment.batch_size was 8, is now 4"
refused seed 'sed -i "/^\[experiment\]/,/^\[model\]/ s/^seed = 0/seed = 7/" config.toml' \
  "experiment.seed was 0, is now 7"
refused batch_line 'sed -i "3s/.*/pretrained,x/" batches.csv' "batches.csv:3: 2 fields instead of 10"
refused batch_twice 'sed -i 2p batches.csv' "batches.csv:3: batch 0 of run 'pretrained' is recorded twice"
refused no_batch 'sed -i "7s/.*/garbage/" samples.csv' "samples.csv:7: the row names no batch"
echo "resume redid damaged batches and refused damaged records"
