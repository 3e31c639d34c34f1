#!/usr/bin/env bash
# Runs every test: the unit tier, the engine tier, the integration tier and
# the script and browser tests, then the protocol suite again over TLS and
# against a whole cluster with each bus (the harness's cluster mode,
# CHATD_IT_CLUSTER), and prints one closing line "N passed, N failed".
# Exit status 0 only when nothing failed.
#   scripts/run-tests.sh build [filter]
# CHATD_TEST_TIER=check: only what needs no engine and no server (make check).
# CHATD_TEST_JOBS (default 2): test binaries run at once. Each starts its own
# servers on free ports in a temp dir of its own, so they do not meet; the
# few that measure the machine (memory, a cluster of their own, the browser)
# run alone.
set -u
build=${1:-build}
filter=${2:-}
jobs=${CHATD_TEST_JOBS:-2}
export CHATD_BIN="$PWD/$build/chatd"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp}
# No test reads the machine's /etc/chatd/chatd.conf: '' = no configuration
# file unless a test names one.
export CHATD_CONFIG=''
unset CHATD_LOG_FORMAT
# The protocol suite: what a client sees, whatever the shape behind it.
PROTOCOL_SUITE="test_http test_chat test_messages test_errors test_presence test_fanout test_abuse test_changes test_threads test_manage test_search"
# Run alone: they measure memory or time, or bring up a cluster of their own.
ALONE="test_limits test_cluster test_bench_smoke test_auth_limits test_store_fail"
# Every test starts from an empty TMPDIR of its own run: nothing a test
# needs may come from the machine's state (traversable by the postgres user,
# which the PostgreSQL starter runs as).
export TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/chatd-t.XXXXXX")
chmod 755 "$TMPDIR"
logdir=$(mktemp -d)
results="$logdir/results" # one line per binary: NAME<TAB>PASSED<TAB>FAILED
: > "$results"

# run_one NAME BINARY [VAR=VALUE...] — runs it, records and prints its counts.
run_one() {
  local name=$1 bin=$2; shift 2
  local log="$logdir/${name//[\/ \[\]]/_}.log" start rc p f
  start=$(date +%s)
  env "$@" timeout 600 "$bin" >"$log" 2>&1
  rc=$?
  p=$(grep -aoE '^\[  PASSED  \] [0-9]+' "$log" | awk '{s+=$4} END {print s+0}')
  f=$(grep -aoE '^\[  FAILED  \] [0-9]+ test' "$log" | awk '{s+=$4} END {print s+0}')
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed or timed out
  printf '%s\t%d\t%d\t%s\n' "$name" "$p" "$f" "$log" >> "$results"
  printf '%-48s %3d passed, %d failed (%ds)\n' "$name" "$p" "$f" "$(( $(date +%s) - start ))"
}

# pool: run_one in the background, at most $jobs at once; pool_wait at the end.
pool() {
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  run_one "$@" &
}
pool_wait() { wait; }

wanted() { [ -z "$filter" ] || [[ "$1" == *"$filter"* ]]; }
alone() { [[ " $ALONE " == *" $1 "* ]]; }

tier=${CHATD_TEST_TIER:-all}
tiers=(unit)
[ "$tier" = check ] || tiers+=(engine integration)
# The binaries are those of the sources that exist (no stale leftovers; a
# missing binary is a failure, not a skip).
serial=()
for t in "${tiers[@]}"; do
  for src in tests/"$t"/test_*.c; do
    base=$(basename "$src" .c)
    bin="$build/tests/$t/$base"
    wanted "$bin" || continue
    if alone "$base"; then serial+=("$t/$base|$bin"); else pool "$t/$base" "$bin"; fi
  done
done
# Script tests (tests/scripts/test_*.sh): they print cmocka's summary lines.
# Those marked "# tier: check" need no engine and run in make check too.
for t in tests/scripts/test_*.sh; do
  [ -x "$t" ] || continue
  [ "$tier" = check ] && ! grep -q '^# tier: check$' "$t" && continue
  wanted "$t" || continue
  pool "scripts/$(basename "$t")" "$t" BUILD="$build"
done
# The protocol suite again over TLS (https://, wss://; a throw-away CA).
if [ "$tier" != check ]; then
  for t in $PROTOCOL_SUITE; do
    wanted "integration/$t [tls]" || continue
    pool "integration/$t [tls]" "$build/tests/integration/$t" CHATD_IT_TLS=1
  done
fi
pool_wait
# Alone, one after another.
for s in "${serial[@]}"; do run_one "${s%%|*}" "${s#*|}"; done
# Browser tests (tests/browser): the web client in headless Chromium, against
# a chatd of their own and a cluster of their own; cmocka's summary lines.
if [ "$tier" != check ] && wanted "browser/web-client"; then
  run_one "browser/web-client" tests/browser/run.sh BUILD="$build"
fi
# One cluster per bus, shared by the suite's binaries in turn (a start
# costs ~20 s): the first binary brings it up in its directory, the rest use
# it (tests/integration/hcluster.h, hcluster_attach); it goes down after.
# The two buses' clusters are independent and run side by side.
cluster_suite() { # BUS
  local bus=$1 shared
  shared=$(mktemp -u "$TMPDIR/chatd-hc-shared-$bus.XXXXXX")
  for t in $PROTOCOL_SUITE; do
    name="integration/$t [cluster, $bus bus]"
    wanted "$name" || continue
    run_one "$name" "$build/tests/integration/$t" CHATD_IT_CLUSTER=$bus \
      CHATD_IT_CLUSTER_SHARED="$shared"
  done
  if [ -d "$shared" ]; then
    CHATD_CLUSTER_DIR=$shared scripts/cluster down > /dev/null ||
      echo "run-tests: cluster down ($shared) failed"
  fi
}
if [ "$tier" != check ]; then
  trap 'kill $(jobs -p) 2>/dev/null; exit 130' INT TERM
  cluster_suite redis &
  cluster_suite kafka &
  wait
fi

passed=$(awk -F'\t' '{s+=$2} END {print s+0}' "$results")
failed=$(awk -F'\t' '{s+=$3} END {print s+0}' "$results")
failed_bins=()
while IFS=$'\t' read -r name p f log; do
  [ "$f" -eq 0 ] && continue
  failed_bins+=("$name")
  echo "---- output of $name ----"; tail -n 80 "$log"; echo "----"
done < "$results"
rm -rf "$logdir" "$TMPDIR"
[ ${#failed_bins[@]} -gt 0 ] && echo "failed: ${failed_bins[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
