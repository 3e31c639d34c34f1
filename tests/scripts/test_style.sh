#!/usr/bin/env bash
# tier: check
# test_style: the shape docs/ARCHITECTURE.md promises, checked on every run.
# The tree is clang-formatted (.clang-format); layers only point down (core
# includes nothing else of chatd, proto never includes net/ or store/, chat
# never includes net/); no source file grows past 800 lines.
set -u
. "$(dirname "$0")/lib.sh"
cd "$T_ROOT"

formatted() {
  clang-format --dry-run --Werror $(find src tests -name '*.[ch]' | sort) 2>&1 | head -40
  [ "${PIPESTATUS[0]}" -eq 0 ]
}

# includes DIR PATTERN: the #include lines of DIR's files that name PATTERN.
includes() {
  grep -rnE "^#include \"($2)/" "$1" --include='*.[ch]' || true
}

layers_point_down() {
  local bad
  bad=$(includes src/core 'net|proto|chat|store|bus|api|auth|cluster|discovery|dispatch|engine|ops|roles|web|cli')
  [ -z "$bad" ] || { echo "core includes another module:"; echo "$bad"; return 1; }
  bad=$(includes src/proto 'net|store|chat|bus|roles')
  [ -z "$bad" ] || { echo "proto includes net/, store/ or above:"; echo "$bad"; return 1; }
  bad=$(includes src/chat 'net|roles|api|cli')
  [ -z "$bad" ] || { echo "chat (the domain, no I/O) includes net/ or above:"; echo "$bad"; return 1; }
  bad=$(includes src/net 'proto|chat|store|bus|roles')
  [ -z "$bad" ] || { echo "net includes a layer above it:"; echo "$bad"; return 1; }
}

files_stay_small() {
  local big
  big=$(find src web -name '*.[ch]' -o -name '*.js' | xargs wc -l | awk '$2 != "total" && $1 > 800')
  [ -z "$big" ] || { echo "files past 800 lines (split them by concept):"; echo "$big"; return 1; }
}

check "clang-format --dry-run --Werror over src/ and tests/" formatted
check "layers only point down (core <- net, proto <- chat <- roles)" layers_point_down
check "no source file past 800 lines" files_stay_small
summary
