#!/usr/bin/env bash
# Fsac.MLNet: make TorchSharp's native library load on libstdc++ older than GCC 13
# (Debian 12, Ubuntu 22.04: GLIBCXX up to 3.4.30).
#
# TorchSharp 0.107's libLibTorchSharp.so requires GLIBCXX_3.4.32 for exactly one symbol,
# std::ios_base_library_init(). This script, for every libLibTorchSharp.so it is given or
# finds in the NuGet package cache:
#   1. builds libfsac_glibcxx_shim.so (glibcxx_shim.cpp) beside it; the shim defines the symbol;
#   2. clears the symbol's version (patchelf --clear-symbol-version);
#   3. adds the shim as a DT_NEEDED dependency (found through the library's $ORIGIN runpath);
#   4. sets VER_FLG_WEAK on the GLIBCXX_3.4.32 entry of .gnu.version_r, so the loader no longer
#      insists on that version.
# It keeps the original as libLibTorchSharp.so.orig, is idempotent, and does nothing when the
# system libstdc++ already provides GLIBCXX_3.4.32 (unless --force).
#
# Usage: fix-torchsharp-glibcxx.sh [--force] [--check] [DIR-or-FILE ...]
#   --check   only report whether a fix is needed / applied; exit 1 when a library still needs it.
# Needs: g++, patchelf, readelf (Debian/Ubuntu: apt-get install g++ patchelf binutils).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
force=0; check=0; targets=()
for a in "$@"; do
  case "$a" in
    --force) force=1 ;;
    --check) check=1 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) targets+=("$a") ;;
  esac
done

log() { echo "[fix-torchsharp-glibcxx] $*"; }

libstdcxx="$( (ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}') || true)"
[ -n "$libstdcxx" ] || libstdcxx=$(ls /usr/lib/x86_64-linux-gnu/libstdc++.so.6 2>/dev/null || true)
if [ "$(uname -s)" != "Linux" ]; then log "not Linux: nothing to do"; exit 0; fi
if [ -n "$libstdcxx" ] && grep -q "GLIBCXX_3.4.32" "$libstdcxx" 2>/dev/null && [ $force = 0 ]; then
  log "system libstdc++ ($libstdcxx) provides GLIBCXX_3.4.32: no fix needed"; exit 0
fi

if [ ${#targets[@]} -eq 0 ]; then
  root="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
  targets=("$root/torchsharp")
fi
mapfile -t libs < <(for t in "${targets[@]}"; do
  if [ -f "$t" ]; then echo "$t"; elif [ -d "$t" ]; then find "$t" -name libLibTorchSharp.so -path '*linux-x64*' 2>/dev/null; fi
done | sort -u)
if [ ${#libs[@]} -eq 0 ]; then
  log "no libLibTorchSharp.so found under: ${targets[*]} (run 'dotnet restore' first)"; exit 1
fi

# Offset in the file of the vna_flags field of the GLIBCXX_3.4.32 entry in .gnu.version_r.
verneed_flags_offset() {
  local line base="" off flags
  while IFS= read -r line; do
    if [[ -z "$base" && "$line" =~ Offset:\ (0x[0-9a-fA-F]+) ]]; then base=${BASH_REMATCH[1]}; fi
    if [[ -n "$base" && "$line" =~ ^\ *(0x[0-9a-fA-F]+):\ +Name:\ GLIBCXX_3\.4\.32\ +Flags:\ ([A-Za-z]+) ]]; then
      off=${BASH_REMATCH[1]}; flags=${BASH_REMATCH[2]}
      echo "$(( base + off + 4 )) $flags"; return
    fi
  done < <(readelf -V -W "$1" | sed -n '/Version needs section/,$p')
}

is_fixed() {
  local lib="$1" info
  readelf -d "$lib" | grep 'libfsac_glibcxx_shim.so' >/dev/null || return 1
  [ -f "$(dirname "$lib")/libfsac_glibcxx_shim.so" ] || return 1
  readelf --dyn-syms -W "$lib" | grep '_ZSt21ios_base_library_initv@GLIBCXX_3.4.32' >/dev/null && return 1
  info=$(verneed_flags_offset "$lib")
  [ -z "$info" ] || [ "$(echo "$info" | awk '{print $2}')" = "WEAK" ]
}

status=0
for lib in "${libs[@]}"; do
  if is_fixed "$lib"; then log "already fixed: $lib"; continue; fi
  if [ $check = 1 ]; then log "needs the fix: $lib"; status=1; continue; fi
  for tool in g++ patchelf readelf; do
    command -v $tool >/dev/null || { log "missing tool '$tool' (Debian/Ubuntu: apt-get install g++ patchelf binutils)"; exit 2; }
  done
  dir="$(dirname "$lib")"
  [ -f "$lib.orig" ] || cp -p "$lib" "$lib.orig"
  g++ -O2 -shared -fPIC -o "$dir/libfsac_glibcxx_shim.so" "$here/glibcxx_shim.cpp"
  if readelf --dyn-syms -W "$lib" | grep '_ZSt21ios_base_library_initv@' >/dev/null; then
    patchelf --clear-symbol-version _ZSt21ios_base_library_initv "$lib"
  fi
  readelf -d "$lib" | grep 'libfsac_glibcxx_shim.so' >/dev/null || patchelf --add-needed libfsac_glibcxx_shim.so "$lib"
  patchelf --print-rpath "$lib" | grep '\$ORIGIN' >/dev/null || patchelf --add-rpath '$ORIGIN' "$lib"
  info=$(verneed_flags_offset "$lib")
  if [ -n "$info" ]; then
    off=${info%% *}
    printf '\x02' | dd of="$lib" bs=1 seek="$off" count=1 conv=notrunc status=none
  fi
  if is_fixed "$lib"; then log "fixed: $lib"; else log "FAILED to fix: $lib"; status=1; fi
done
exit $status
