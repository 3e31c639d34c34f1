#!/usr/bin/env bash
# Installs the Debian packages chatd needs, only those missing.
#   scripts/deps.sh run   — what `make run` needs (build + runtime)
#   scripts/deps.sh test  — plus test tools (cmocka, clang for fuzzing) and engines
#   scripts/deps.sh bench — plus gnuplot and Node.js (for the baseline server)
set -euo pipefail
run_pkgs="build-essential pkg-config libuv1-dev libhttp-parser-dev libjansson-dev libjwt-dev
  libsodium-dev libssl-dev libsqlite3-dev libedit-dev libpq-dev
  libhiredis-dev librdkafka-dev libzookeeper-mt-dev libinih-dev"
test_pkgs="libcmocka-dev clang libclang-rt-14-dev redis-server redis-tools libhiredis-dev
  zookeeper libzookeeper-mt-dev postgresql libpq-dev librdkafka-dev python3-websockets tmux
  sqlite3 curl systemd man-db groff-base dpkg-dev adduser"
bench_pkgs="gnuplot-nox"
command -v node >/dev/null 2>&1 || bench_pkgs="$bench_pkgs nodejs npm"
pkgs=$run_pkgs
case "${1:-run}" in
  test) pkgs="$run_pkgs $test_pkgs" ;;
  bench) pkgs="$run_pkgs $test_pkgs $bench_pkgs" ;;
esac
missing=()
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
