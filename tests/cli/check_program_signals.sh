#!/bin/sh
# A run guided by a `program` reward leaves no worker running when it is
# stopped: by a terminal's Ctrl-C (SIGINT to svdd's whole process group; the
# workers have their own group, so svdd decides), by SIGTERM, and by
# SIGKILL, after which the workers die with svdd (PR_SET_PDEATHSIG).
# Usage: check_program_signals.sh SVDD SOURCE_DIR OUT_DIR
set -eu
svdd=$1 source=$2 out=$3
rm -rf "$out" && mkdir -p "$out"
experiment="$source/tests/cli/program_reward.toml"

# alive PID: the process exists and is no zombie.
alive() {
  [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# stopped NAME CODE KILL_COMMAND...: runs the experiment in its own session,
# stops it with KILL_COMMAND (PID replaced by svdd's) once a batch has
# finished, checks the exit code and that every worker it started is gone.
stopped() {
  name=$1 code=$2
  shift 2
  dir="$out/$name"
  PROGRAM_PIDS="$out/$name.pids" setsid "$svdd" run "$experiment" --out "$dir" --no-progress \
    > "$dir.log" 2>&1 &
  pid=$!
  tries=0
  until [ -f "$dir/batches.csv" ] && [ "$(wc -l < "$dir/batches.csv")" -ge 2 ]; do
    tries=$((tries + 1))
    [ $tries -lt 600 ] || { echo "$name: no batch finished in 60 s"; cat "$dir.log"; kill -9 $pid; exit 1; }
    sleep 0.1
  done
  # shellcheck disable=SC2046
  eval "$(echo "$@" | sed "s/PID/$pid/g")"
  status=0
  wait $pid || status=$?
  [ "$status" = "$code" ] || { echo "$name: exit $status, expected $code"; cat "$dir.log"; exit 1; }
  [ -s "$out/$name.pids" ] || { echo "$name: no worker started"; exit 1; }
  for worker in $(cat "$out/$name.pids"); do
    tries=0
    while alive "$worker"; do
      tries=$((tries + 1))
      [ $tries -lt 50 ] || { echo "$name: worker $worker still runs 5 s after svdd ended"; kill -9 "$worker"; exit 1; }
      sleep 0.1
    done
  done
  echo "$name: exit $status, $(wc -l < "$out/$name.pids") workers started, none left"
}
stopped ctrl_c 130 kill -s INT -- -PID
stopped sigterm 143 kill -s TERM PID
stopped sigkill 137 kill -s KILL PID
