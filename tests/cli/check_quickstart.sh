#!/usr/bin/env bash
# check_quickstart.sh SVDD SOURCE_DIR: the README's main job writes every
# output file and svdd_pm's reward median beats pretrained's.
set -eu
svdd=$1
src=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$svdd" run "$src/experiments/quickstart.toml" --out "$out/q" --no-progress
for f in config.toml samples.csv batches.csv summary.csv summary.md run.log; do
  [ -s "$out/q/$f" ] || { echo "missing $f"; exit 1; }
done
column() {  # column NAME METHOD: the value of NAME in METHOD's summary row
  awk -F, -v name="$1" -v method="$2" '
    NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
    $1 == method { print $c }' "$out/q/summary.csv"
}
pm=$(column reward_median svdd_pm)
pre=$(column reward_median pretrained)
echo "reward_median: svdd_pm $pm, pretrained $pre"
awk -v a="$pm" -v b="$pre" 'BEGIN { exit !(a > b) }'
