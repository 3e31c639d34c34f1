#!/usr/bin/env bash
# Installs the Debian packages chatd needs, only those missing.
#   scripts/deps.sh run   — what `make run` needs (build + runtime)
#   scripts/deps.sh test  — plus test tools (cmocka, clang for fuzzing), engines, and for
#                           the browser tests Chromium, Node.js and playwright-core (npm,
#                           into a cache dir outside the repo; it never downloads a browser)
#   scripts/deps.sh bench — plus gnuplot and Node.js (for the baseline server)
set -euo pipefail
run_pkgs="build-essential pkg-config libuv1-dev libhttp-parser-dev libjansson-dev libjwt-dev
  libsodium-dev libssl-dev libsqlite3-dev libedit-dev libpq-dev
  libhiredis-dev librdkafka-dev libzookeeper-mt-dev libinih-dev"
test_pkgs="libcmocka-dev clang clang-format openssl libclang-rt-14-dev redis-server redis-tools libhiredis-dev
  zookeeper libzookeeper-mt-dev postgresql libpq-dev librdkafka-dev python3-websockets tmux
  chromium fonts-dejavu-core sqlite3 curl systemd man-db groff-base dpkg-dev adduser iproute2"
command -v node >/dev/null 2>&1 || test_pkgs="$test_pkgs nodejs npm"
PLAYWRIGHT_VERSION=1.65.1
node_dir=${CHATD_TEST_NODE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/chatd-test-node}

# playwright-core (pinned) for tests/browser, outside the repo; fast when present.
node_deps() {
  local have
  have=$(node -p "require('$node_dir/node_modules/playwright-core/package.json').version" 2>/dev/null || true)
  [ "$have" = "$PLAYWRIGHT_VERSION" ] && return 0
  echo "deps: installing playwright-core@$PLAYWRIGHT_VERSION into $node_dir"
  mkdir -p "$node_dir"
  [ -f "$node_dir/package.json" ] || echo '{"private": true}' > "$node_dir/package.json"
  (cd "$node_dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --silent --save-exact \
    "playwright-core@$PLAYWRIGHT_VERSION" >/dev/null)
}
bench_pkgs="gnuplot-nox"
command -v node >/dev/null 2>&1 || bench_pkgs="$bench_pkgs nodejs npm"
pkgs=$run_pkgs
case "${1:-run}" in
  check) pkgs="$run_pkgs libcmocka-dev clang-format openssl" ;;
  test) pkgs="$run_pkgs $test_pkgs" ;;
  bench) pkgs="$run_pkgs $test_pkgs $bench_pkgs" ;;
esac
missing=()
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
case "${1:-run}" in test|bench) node_deps ;; esac
