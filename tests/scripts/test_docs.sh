#!/usr/bin/env bash
# tier: check
# test_docs: what the docs name exists where they say. Every function of
# docs/ARCHITECTURE.md's message walk ("`src/x.c` `fn()`" in a table row:
# each function belongs to the file named before it in the row) is defined
# in that file, and every src/ path the docs name is there.
set -u
. "$(dirname "$0")/lib.sh"
cd "$T_ROOT"

walk_matches_code() {
  local rows bad=0 line file tok fn
  rows=$(sed -n '/^## The path of one chat message/,/^## /p' docs/ARCHITECTURE.md | grep '^| [0-9]')
  [ -n "$rows" ] || { echo "no message walk in docs/ARCHITECTURE.md"; return 1; }
  while IFS= read -r line; do
    file=""
    for tok in $(printf '%s\n' "$line" | grep -oE '`[^`]+`' | tr -d '`'); do
      case $tok in
        src/*) file=$tok
               [ -f "$file" ] || { echo "no file $file"; bad=1; } ;;
        *"()") fn=${tok%"()"}
               [ -n "$file" ] || { echo "$fn() has no file before it"; bad=1; continue; }
               # a definition: the name at the start of a line's declarator, then "("
               grep -qE "^[a-z].*[ *]$fn\(|^static inline .*[ *]$fn\(" "$file" ||
                 { echo "$fn() is not defined in $file"; bad=1; } ;;
      esac
    done
  done <<< "$rows"
  [ "$bad" -eq 0 ]
}

named_paths_exist() {
  local p bad=0
  for p in $(grep -ohE '`src/[A-Za-z0-9_/.-]+\.[ch]`' docs/*.md README.md | tr -d '`' | sort -u); do
    [ -f "$p" ] || { echo "docs name $p, which does not exist"; bad=1; }
  done
  [ "$bad" -eq 0 ]
}

check "docs/ARCHITECTURE.md's message walk names functions where they are" walk_matches_code
check "every src/ file the docs name exists" named_paths_exist
summary
