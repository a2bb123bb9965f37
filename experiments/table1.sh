#!/usr/bin/env bash
# The seed paper's Table 1 on the shipped models, in one command:
#   experiments/table1.sh [OUT] [svdd run options, e.g. --set experiment.samples=32]
# runs the six domain experiments into OUT/<experiment> (default runs/table1)
# and writes OUT/table1.md, OUT/table1.csv and OUT/report.html across them.
# A folder that already holds a run is resumed (its finished batches are not
# redone; the options apply to new folders only), so an interrupted table
# continues where it stopped.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
svdd="${SVDD:-$here/../build/bin/svdd}"
out="${1:-runs/table1}"
[ $# -gt 0 ] && shift
folders=()
for e in dna_enhancer_hepg2 rna_utr_mrl molecule_qed molecule_sa image_compressibility \
  image_digit_class; do
  if [ -f "$out/$e/config.toml" ]; then
    "$svdd" run --resume "$out/$e" --no-progress
  else
    "$svdd" run "$here/$e.toml" --out "$out/$e" --no-progress "$@"
  fi
  folders+=("$out/$e")
done
"$svdd" report "${folders[@]}" --out "$out"
