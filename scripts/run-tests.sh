#!/usr/bin/env bash
# Runs every unit and integration test binary in BUILD_DIR and prints one
# closing line "N passed, N failed". Exit status 0 only when nothing failed.
#   scripts/run-tests.sh build [filter]
set -u
build=${1:-build}
filter=${2:-}
export CHATD_BIN="$PWD/$build/chatd"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
logdir=$(mktemp -d)
passed=0 failed=0
failed_bins=()

for bin in "$build"/tests/unit/test_* "$build"/tests/integration/test_*; do
  [ -x "$bin" ] || continue
  [[ "$bin" == *.d ]] && continue
  [ -n "$filter" ] && [[ "$bin" != *"$filter"* ]] && continue
  name=${bin#"$build"/tests/}
  log="$logdir/${name//\//_}.log"
  start=$(date +%s)
  timeout 600 "$bin" >"$log" 2>&1
  rc=$?
  p=$(grep -aoE '^\[  PASSED  \] [0-9]+' "$log" | awk '{s+=$4} END {print s+0}')
  f=$(grep -aoE '^\[  FAILED  \] [0-9]+ test' "$log" | awk '{s+=$4} END {print s+0}')
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed or timed out
  passed=$((passed + p)); failed=$((failed + f))
  printf '%-40s %3d passed, %d failed (%ds)\n' "$name" "$p" "$f" "$(( $(date +%s) - start ))"
  if [ "$f" -ne 0 ]; then
    failed_bins+=("$name")
    echo "---- output of $name ----"; tail -n 80 "$log"; echo "----"
  fi
done
rm -rf "$logdir"
[ ${#failed_bins[@]} -gt 0 ] && echo "failed: ${failed_bins[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
