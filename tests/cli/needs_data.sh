#!/usr/bin/env bash
# needs_data.sh SOURCE_DIR FILE... -- COMMAND [ARGS...]
# Runs COMMAND when the data folder holds every FILE (relative to it);
# otherwise prints "skipped: needs ../shared/data ..." and exits 77, which
# ctest reports as skipped (SKIP_RETURN_CODE). The data folder is found as
# svdd finds it (svdd/config/experiment.hpp): $SVDD_DATA_DIR, else
# ../shared/data beside the working folder or one above it, else beside
# SOURCE_DIR.
set -u
source_dir=$1
shift
files=()
while [ "$1" != "--" ]; do
  files+=("$1")
  shift
done
shift
data=""
if [ -n "${SVDD_DATA_DIR:-}" ]; then
  data=$SVDD_DATA_DIR
else
  dir=$(pwd)
  while :; do
    if [ -d "$dir/../shared/data" ]; then data="$dir/../shared/data"; break; fi
    [ "$dir" = "/" ] && break
    dir=$(dirname "$dir")
  done
  [ -z "$data" ] && [ -d "$source_dir/../shared/data" ] && data="$source_dir/../shared/data"
fi
missing=()
for f in "${files[@]}"; do
  [ -n "$data" ] && [ -e "$data/$f" ] || missing+=("$f")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "skipped: needs ../shared/data (or \$SVDD_DATA_DIR) with ${missing[*]} (data folder: ${data:-none found})"
  exit 77
fi
exec "$@"
