#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# scripts/spdx.sh - keeps an SPDX licence line at the top of every source file
# git tracks (C, headers, linker scripts, Python, shell, CMake, Lua, and the
# web console's JavaScript, CSS and HTML).
#   scripts/spdx.sh --check   list files without one; exit 1 if any (ctest repo.spdx)
#   scripts/spdx.sh --fix     add the line (after a #! line, in the file's comment style)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:---check}
ID="SPDX-License-Identifier: Apache-2.0"

comment_for() {
  case "$1" in
    *.c|*.h|*.js)       echo "// $ID" ;;
    *.css)              echo "/* $ID */" ;;
    *.html)             echo "<!-- $ID -->" ;;
    *.S)                echo "/* $ID */" ;;
    *.lua)              echo "-- $ID" ;;
    *.py|*.sh|*.cmake|*/CMakeLists.txt|CMakeLists.txt|.ci/run) echo "# $ID" ;;
    *) return 1 ;;
  esac
}

missing=()
while IFS= read -r f; do
  [ -f "$f" ] || continue
  line=$(comment_for "$f") || continue
  if head -n 3 "$f" | grep -q "SPDX-License-Identifier:"; then continue; fi
  missing+=("$f")
  if [ "$mode" = --fix ]; then
    if head -n 1 "$f" | grep -q '^#!'; then
      { head -n 1 "$f"; echo "$line"; tail -n +2 "$f"; } > "$f.spdx.tmp"
    else
      { echo "$line"; cat "$f"; } > "$f.spdx.tmp"
    fi
    chmod --reference="$f" "$f.spdx.tmp" && mv "$f.spdx.tmp" "$f"
  fi
done < <(git ls-files --cached --others --exclude-standard)

if [ "$mode" = --fix ]; then
  echo "spdx: added the licence line to ${#missing[@]} files"
  exit 0
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "spdx: ${#missing[@]} source files lack '$ID' in their first 3 lines:"
  printf '  %s\n' "${missing[@]}"
  echo "fix with: scripts/spdx.sh --fix"
  exit 1
fi
echo "spdx: every source file carries '$ID'"
