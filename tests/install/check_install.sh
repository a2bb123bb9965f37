#!/usr/bin/env bash
# check_install.sh BUILD_DIR SOURCE_DIR: install svdd into a temporary
# prefix, build the example plugin out of tree with find_package(svdd), and
# check that the installed svdd loads it from SVDD_PLUGIN_PATH and runs it.
set -eu
build=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
# The installed binaries, too, find their libraries only through $ORIGIN.
"$(dirname "$0")/check_runpath.sh" "$work/prefix/bin" "$work/prefix/lib"
cmake -S "$src/plugins/example" -B "$work/example" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/example" >/dev/null
plugin="$work/example/plugins/libsvdd_plugin_example.so"
[ -f "$plugin" ] || { echo "the out-of-tree build made no $plugin"; exit 1; }
export SVDD_PLUGIN_PATH="$work/example/plugins"
"$work/prefix/bin/svdd" list | grep -F "example.motif_count  ($plugin)"
cat > "$work/e.toml" <<TOML
[experiment]
samples = 4
[model]
type = "toy.categorical"
steps = 8
[reward]
type = "example.motif_count"
motif = "AB"
[methods.svdd]
type = "svdd"
candidates = 2
TOML
"$work/prefix/bin/svdd" run "$work/e.toml" --out "$work/run" --no-progress >/dev/null
[ "$(wc -l < "$work/run/samples.csv")" = 5 ]
echo "out-of-tree plugin built, loaded and run"
