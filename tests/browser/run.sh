#!/usr/bin/env bash
# The browser tests (tests/browser/run.mjs) for scripts/run-tests.sh: the
# web client in headless Chromium (Debian's chromium) driven by
# playwright-core, both installed by `scripts/deps.sh test`.
#   CHATD_BIN=build/chatd tests/browser/run.sh
set -u
cd "$(dirname "$0")/../.."
fail() { echo "[  FAILED  ] browser tests: $*"; echo "[  FAILED  ] 1 test(s), listed above"; exit 1; }
command -v node >/dev/null || fail "node is missing (scripts/deps.sh test installs it)"
[ -x "${CHATD_CHROMIUM:-/usr/bin/chromium}" ] || fail "chromium is missing (scripts/deps.sh test)"
cache=${CHATD_TEST_NODE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/chatd-test-node}
[ -d "$cache/node_modules/playwright-core" ] || fail "playwright-core is missing in $cache (scripts/deps.sh test)"
export CHATD_BIN=${CHATD_BIN:-$PWD/${BUILD:-build}/chatd}
[ -x "$CHATD_BIN" ] || fail "no chatd at $CHATD_BIN (make all)"
exec node tests/browser/run.mjs
