# lib.sh: what the script tests (tests/scripts/test_*.sh) share. Each check
# prints a cmocka-style line and the summary at the end uses cmocka's
# format, so scripts/run-tests.sh counts script tests like the C ones.
#   . "$(dirname "$0")/lib.sh"; check NAME COMMAND...; ...; summary
T_PASSED=0
T_FAILED=0
T_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}

# check NAME COMMAND... — runs COMMAND; passes when it exits 0.
check() {
  local name=$1; shift
  local out
  if out=$("$@" 2>&1); then
    echo "[       OK ] $name"
    T_PASSED=$((T_PASSED + 1))
  else
    echo "[  FAILED  ] $name"
    printf '%s\n' "$out" | tail -n 40 | sed 's/^/    /'
    T_FAILED=$((T_FAILED + 1))
  fi
}

summary() {
  echo "[  PASSED  ] $T_PASSED test(s)."
  [ "$T_FAILED" -gt 0 ] && echo "[  FAILED  ] $T_FAILED test(s), listed above"
  [ "$T_FAILED" -eq 0 ]
}
