#!/usr/bin/env bash
# Every RUNPATH / RPATH entry of every ELF file under the given folders is
# $ORIGIN-based: an empty or relative entry is searched from the working
# directory, so a library planted there would load into svdd.
# Usage: check_runpath.sh DIR...
set -u
bad=0; checked=0
while IFS= read -r -d '' file; do
  head -c 4 "$file" | grep -q $'\x7fELF' || continue
  checked=$((checked + 1))
  paths=$(readelf -d "$file" 2>/dev/null | sed -n 's/.*(\(RUNPATH\|RPATH\)).*\[\(.*\)\]/\2/p')
  [ -z "$paths" ] && continue
  IFS=':' read -r -a entries <<< "$paths:"
  # read -a drops one trailing empty field; the ':' added above keeps a real one.
  for entry in "${entries[@]}"; do
    case "$entry" in
      '$ORIGIN'|'$ORIGIN/'*) ;;
      *) echo "$file: RUNPATH entry '$entry' (in [$paths]) is not \$ORIGIN-based"; bad=1 ;;
    esac
  done
done < <(find "$@" -type f \( -perm -u+x -o -name '*.so*' \) -print0)
echo "$checked ELF files checked"
[ "$checked" -gt 0 ] || { echo "no ELF file found under $*"; exit 1; }
exit $bad
