#!/usr/bin/env bash
# Prints the size of the release client, raw, gzip -9 and brotli -q 11, in bytes: the main
# module every page but sign-in loads, its JS, the split loader and the stylesheet one by one, and the
# lazily loaded WASM chunks (`cargo leptos build --split`) as totals. `--markdown` prints a
# table for the benchmark report.
set -euo pipefail
source "$(dirname "$0")/env.sh"
pkg="$XRAY_KEYS_SITE_ROOT/pkg"
[ -d "$pkg" ] || { echo "bundle-size: no build at $pkg; run scripts/build.sh first" >&2; exit 1; }
markdown=0
[ "${1:-}" = --markdown ] && markdown=1

row() { # label, files...
  local label=$1 raw=0 gz br
  shift
  [ $# -gt 0 ] && [ -f "$1" ] || return 0
  for f in "$@"; do raw=$((raw + $(stat -c %s "$f"))); done
  gz=$(cat "$@" | gzip -9 -c | wc -c)
  br=$(cat "$@" | brotli -q 11 -c | wc -c)
  if [ $markdown = 1 ]; then
    printf '| %s | %d | %d | %d |\n' "$label" "$raw" "$gz" "$br"
  else
    printf '%-36s %10d %10d %10d\n' "$label" "$raw" "$gz" "$br"
  fi
}

# The files of the newest build only: names carry content hashes (recorded in hash.txt beside
# the server binary), and older builds' files may still lie beside them.
hashes="$(dirname "$XK_SERVER_BIN")/hash.txt"
[ -f "$hashes" ] || { echo "bundle-size: no $hashes; run scripts/build.sh first" >&2; exit 1; }
hash_of() { awk -v k="$1:" '$1 == k { print $2 }' "$hashes"; }
main_wasm="$pkg/xray-keys.$(hash_of wasm).wasm"
# The split manifest names, for each page, its shared chunks and then the page's own chunk.
manifest="$pkg/__wasm_split_manifest.$(hash_of manifest).json"
chunks() { # page | shared
  python3 - "$manifest" "$1" <<'PY' | sort -u | sed "s|^|$pkg/|; s|\$|.wasm|"
import json, sys
for chunks in json.load(open(sys.argv[1])).values():
    print(chunks[-1] if sys.argv[2] == "page" else "\n".join(chunks[:-1]))
PY
}
mapfile -t pages < <(chunks page)
mapfile -t shared < <(chunks shared)
if [ $markdown = 1 ]; then
  echo "| File | raw | gzip | brotli |"
  echo "|---|---:|---:|---:|"
else
  printf '%-36s %10s %10s %10s\n' file raw gzip brotli
fi
row "main module (every page but sign-in): $(basename "$main_wasm")" "$main_wasm"
for f in "$pkg/xray-keys.$(hash_of js).js" "$pkg/__wasm_split.$(hash_of split).js" "$pkg/xray-keys.$(hash_of css).css"; do
  row "$(basename "$f")" "$f"
done
# Compressed together, as a sum of separately compressed files would be larger still.
row "page chunks (${#pages[@]} files)" "${pages[@]}"
row "shared chunks (${#shared[@]} files)" "${shared[@]}"
