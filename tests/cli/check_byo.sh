#!/bin/sh
# The bring-your-own examples (issue 14 item 5): an experiment on an
# exported model of its own architecture runs pretrained, best_of_n,
# svdd_pm, smc and dps, and svdd_pm's median reward beats pretrained's.
# Usage: check_byo.sh SVDD EXPERIMENT OUT_DIR [--set ...]
set -eu
svdd=$1 experiment=$2 out=$3
shift 3
rm -rf "$out"
"$svdd" run "$experiment" --out "$out" --no-progress "$@" > "$out.log" 2>&1 || {
  cat "$out.log"; exit 1; }
# summary.csv: method, run, samples, reward_median, ...
median() { awk -F, -v m="$1" '$1 == m { print $4 }' "$out/summary.csv"; }
for method in pretrained best_of_n svdd_pm smc dps; do
  [ -n "$(median $method)" ] || { echo "no summary row for $method:"; cat "$out/summary.csv"; exit 1; }
done
awk -v a="$(median svdd_pm)" -v b="$(median pretrained)" 'BEGIN { exit !(a > b) }' || {
  echo "svdd_pm's median reward $(median svdd_pm) does not beat pretrained's $(median pretrained)"
  exit 1; }
echo "all five methods ran; median reward svdd_pm $(median svdd_pm) > pretrained $(median pretrained)"
