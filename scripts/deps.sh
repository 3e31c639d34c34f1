#!/usr/bin/env bash
# Installs the Debian packages chatd needs, only those missing.
#   scripts/deps.sh run   — what `make run` needs (build + runtime)
#   scripts/deps.sh test  — plus test tools (cmocka, clang for fuzzing) and engines
set -euo pipefail
run_pkgs="build-essential pkg-config libuv1-dev libhttp-parser-dev libjansson-dev libjwt-dev
  libsodium-dev libssl-dev libsqlite3-dev libedit-dev"
test_pkgs="libcmocka-dev clang libclang-rt-14-dev redis-server redis-tools libhiredis-dev
  zookeeper libzookeeper-mt-dev postgresql libpq-dev librdkafka-dev python3-websockets tmux"
pkgs=$run_pkgs
[ "${1:-run}" = test ] && pkgs="$run_pkgs $test_pkgs"
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
