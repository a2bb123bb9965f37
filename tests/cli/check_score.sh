#!/bin/sh
# svdd score on the command line (issue 14 item 4): a run's samples.csv,
# scored by its own experiment with --group run, gives the run's summary
# medians; designs one per line with a bad one are scored, the bad one
# reported by its line.
# Usage: check_score.sh SVDD EXPERIMENT OUT_DIR [--set ...]
set -eu
svdd=$1 experiment=$2 out=$3
shift 3
rm -rf "$out" && mkdir -p "$out"
"$svdd" run "$experiment" --out "$out/run" --no-progress "$@" > /dev/null 2>&1
"$svdd" score "$experiment" --input "$out/run/samples.csv" --column sample --group run \
  --out "$out/score" "$@" > "$out/score.log" 2>&1 || { cat "$out/score.log"; exit 1; }
medians() { cut -d, -f1-4 "$1/summary.csv"; }  # method, run, samples, reward_median
[ "$(medians "$out/run" | cut -d, -f2-)" = "$(medians "$out/score" | cut -d, -f2-)" ] || {
  echo "the medians differ:"; medians "$out/run"; medians "$out/score"; exit 1; }
# The run's own designs, one per line, and one that is not a sample.
tail -n +2 "$out/run/samples.csv" | head -n 5 | cut -d, -f5 > "$out/designs.txt"
echo "not a design" >> "$out/designs.txt"
"$svdd" score "$experiment" --input "$out/designs.txt" --label elsewhere --out "$out/lines" "$@" \
  > "$out/lines.log" 2>&1 || { cat "$out/lines.log"; exit 1; }
grep -q "designs.txt:6: not a sample of" "$out/lines.log" || {
  echo "the bad design is not reported by its line:"; cat "$out/lines.log"; exit 1; }
grep -q "^elsewhere,elsewhere,6," "$out/lines/summary.csv" || {
  echo "no summary row of 6 designs:"; cat "$out/lines/summary.csv"; exit 1; }
echo "svdd score reproduced the run's medians and reported the bad design"
