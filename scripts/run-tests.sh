#!/usr/bin/env bash
# Runs every unit and integration test binary in BUILD_DIR, then the
# protocol suite again against a whole cluster with each bus (the harness's
# cluster mode, CHATD_IT_CLUSTER), and prints one closing line
# "N passed, N failed". Exit status 0 only when nothing failed.
#   scripts/run-tests.sh build [filter]
set -u
build=${1:-build}
filter=${2:-}
export CHATD_BIN="$PWD/$build/chatd"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp}
# No test reads the machine's /etc/chatd/chatd.conf: '' = no configuration
# file unless a test names one.
export CHATD_CONFIG=''
unset CHATD_LOG_FORMAT
# The protocol suite: what a client sees, whatever the shape behind it.
PROTOCOL_SUITE="test_http test_chat test_messages test_errors test_presence test_fanout test_abuse"
# Every test starts from an empty TMPDIR of its own run: nothing a test
# needs may come from the machine's state (traversable by the postgres user,
# which the PostgreSQL starter runs as).
export TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/chatd-t.XXXXXX")
chmod 755 "$TMPDIR"
logdir=$(mktemp -d)
passed=0 failed=0
failed_bins=()

# run_one NAME BINARY [VAR=VALUE...]
run_one() {
  local name=$1 bin=$2; shift 2
  local log="$logdir/${name//[\/ \[\]]/_}.log" start rc p f
  start=$(date +%s)
  env "$@" timeout 600 "$bin" >"$log" 2>&1
  rc=$?
  p=$(grep -aoE '^\[  PASSED  \] [0-9]+' "$log" | awk '{s+=$4} END {print s+0}')
  f=$(grep -aoE '^\[  FAILED  \] [0-9]+ test' "$log" | awk '{s+=$4} END {print s+0}')
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed or timed out
  passed=$((passed + p)); failed=$((failed + f))
  printf '%-48s %3d passed, %d failed (%ds)\n' "$name" "$p" "$f" "$(( $(date +%s) - start ))"
  if [ "$f" -ne 0 ]; then
    failed_bins+=("$name")
    echo "---- output of $name ----"; tail -n 80 "$log"; echo "----"
  fi
}

# CHATD_TEST_TIER=check: only what needs no engine and no server (make check).
# The binaries are those of the sources that exist (no stale leftovers).
tier=${CHATD_TEST_TIER:-all}
tiers=(unit)
[ "$tier" = check ] || tiers+=(engine integration)
for t in "${tiers[@]}"; do
  for src in tests/"$t"/test_*.c; do
    bin="$build/tests/$t/$(basename "$src" .c)" # missing = a failure, not a skip
    [ -n "$filter" ] && [[ "$bin" != *"$filter"* ]] && continue
    run_one "$t/$(basename "$bin")" "$bin"
  done
done
# Script tests (tests/scripts/test_*.sh): they print cmocka's summary lines.
# Those marked "# tier: check" need no engine and run in make check too.
for t in tests/scripts/test_*.sh; do
  [ -x "$t" ] || continue
  [ "$tier" = check ] && ! grep -q '^# tier: check$' "$t" && continue
  [ -n "$filter" ] && [[ "$t" != *"$filter"* ]] && continue
  run_one "scripts/$(basename "$t")" "$t" BUILD="$build"
done
# Browser tests (tests/browser): the web client in headless Chromium, against
# a chatd of their own and a cluster of their own; cmocka's summary lines.
if [ "$tier" != check ] && { [ -z "$filter" ] || [[ "browser/web-client" == *"$filter"* ]]; }; then
  run_one "browser/web-client" tests/browser/run.sh BUILD="$build"
fi
# The protocol suite again over TLS (https://, wss://; a throw-away CA).
if [ "$tier" != check ]; then
  for t in $PROTOCOL_SUITE; do
    name="integration/$t [tls]"
    [ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
    run_one "$name" "$build/tests/integration/$t" CHATD_IT_TLS=1
  done
fi
# One cluster per bus, shared by the suite's binaries in turn (a start
# costs ~20 s): the first binary brings it up in $shared, the rest use it
# (tests/integration/hcluster.h, hcluster_attach); it goes down here.
shared=""
shared_down() {
  if [ -n "$shared" ] && [ -d "$shared" ]; then
    CHATD_CLUSTER_DIR=$shared scripts/cluster down > /dev/null || echo "run-tests: cluster down ($shared) failed"
  fi
  shared=""
}
trap shared_down EXIT
trap 'exit 130' INT TERM
for bus in redis kafka; do
  [ "$tier" = check ] && break
  shared=$(mktemp -u "$TMPDIR/chatd-hc-shared.XXXXXX")
  for t in $PROTOCOL_SUITE; do
    name="integration/$t [cluster, $bus bus]"
    [ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
    run_one "$name" "$build/tests/integration/$t" CHATD_IT_CLUSTER=$bus \
      CHATD_IT_CLUSTER_SHARED="$shared"
  done
  shared_down
done
rm -rf "$logdir" "$TMPDIR"
[ ${#failed_bins[@]} -gt 0 ] && echo "failed: ${failed_bins[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
