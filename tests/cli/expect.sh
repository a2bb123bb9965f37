#!/usr/bin/env bash
# expect.sh EXIT_CODE [-e REGEX]... -- COMMAND [ARGS...]
# Runs COMMAND, then checks its exit code and that its output (stdout and
# stderr together) matches every REGEX (grep -E). Prints the output on failure.
set -u
expected=$1
shift
patterns=()
while [ "$1" != "--" ]; do
  [ "$1" = "-e" ] && { patterns+=("$2"); shift 2; continue; }
  echo "expect.sh: bad argument $1" >&2
  exit 2
done
shift
output=$("$@" 2>&1)
code=$?
status=0
if [ "$code" != "$expected" ]; then
  echo "exit code $code, expected $expected"
  status=1
fi
for p in "${patterns[@]}"; do
  if ! grep -qE -- "$p" <<<"$output"; then
    echo "output does not match: $p"
    status=1
  fi
done
if [ $status != 0 ]; then
  echo "---- output of: $*"
  echo "$output"
fi
exit $status
