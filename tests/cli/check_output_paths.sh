#!/bin/sh
# Output paths that cannot be written are bad input (issue 13 item 10):
# svdd run --out and svdd train --out exit 2 with the reason before any
# work, and leave no file behind.
# Usage: check_output_paths.sh SVDD SOURCE_DIR OUT_DIR
set -eu
svdd=$1 source=$2 out=$3
rm -rf "$out" && mkdir -p "$out/folder"
touch "$out/file"
long=$(printf '%05000d' 0)
run="$source/experiments/quickstart.toml"
train="$source/experiments/pretrain/value_toy_categorical.toml"
# refused PATTERN COMMAND...: exit 2 and PATTERN in the one error line
# (few rollouts: a training the check failed to stop ends soon).
refused() {
  pattern=$1
  shift
  code=0
  message=$("$@" --set training.rollouts=20 2>&1 >/dev/null) || code=$?
  [ "$code" = 2 ] || { echo "exit $code, expected 2: $*"; echo "$message"; exit 1; }
  echo "$message" | grep -qE -- "$pattern" || { echo "no '$pattern' in: $message"; exit 1; }
}
refused "output folder .*/file: .*/file exists and is not a folder" "$svdd" train "$train" --out "$out/file/v.pt"
refused "output file .*/folder is a folder: name the file to write" "$svdd" train "$train" --out "$out/folder"
refused "output file .*\.\.\..* \([0-9]+ characters\): cannot create it: File name too long" \
  "$svdd" train "$train" --out "$out/$long.pt"
refused "output folder /dev/null: /dev/null exists and is not a folder" "$svdd" train "$train" --out /dev/null/v.pt
refused_run() {
  pattern=$1
  shift
  code=0
  message=$("$svdd" run "$run" --no-progress "$@" 2>&1 >/dev/null) || code=$?
  [ "$code" = 2 ] || { echo "exit $code, expected 2: run $*"; echo "$message"; exit 1; }
  echo "$message" | grep -qE -- "$pattern" || { echo "no '$pattern' in: $message"; exit 1; }
}
refused_run "output folder .*/file: .*/file exists and is not a folder" --out "$out/file"
refused_run "output folder .*/file/sub: .*/file exists and is not a folder" --out "$out/file/sub"
refused_run "output folder /dev/null: /dev/null exists and is not a folder" --out /dev/null
refused_run "output folder .*\([0-9]+ characters\): cannot create it: File name too long" --out "$out/$long"
# Nothing left behind: the folder still holds only what the test made.
[ "$(ls -A "$out" | sort | tr '\n' ' ')" = "file folder " ] || { echo "left behind:"; ls -A "$out"; exit 1; }
[ -z "$(ls -A "$out/folder")" ] || { echo "left in folder:"; ls -A "$out/folder"; exit 1; }
echo "output paths that cannot be written are refused with exit 2"
