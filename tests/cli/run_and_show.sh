#!/usr/bin/env bash
# run_and_show.sh SVDD EXPERIMENT OUT [ARGS...]
# Runs `SVDD run EXPERIMENT --out OUT --no-progress ARGS...` and, when it
# succeeds, prints OUT/summary.md: the terminal shows a short table, and the
# checks of these runs look for every column (each method, eval, metric).
set -u
svdd=$1
experiment=$2
out=$3
shift 3
"$svdd" run "$experiment" --out "$out" --no-progress "$@"
code=$?
[ "$code" = 0 ] && cat "$out/summary.md"
exit "$code"
