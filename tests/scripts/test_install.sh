#!/usr/bin/env bash
# test_install: what an operator installs (docs/OPERATIONS.md, "Install").
# `make install` stages chatd, chat, chat-bench, the man pages, the sample
# configuration and the systemd unit under DESTDIR; `make deb` builds a
# Debian package of the same whose control file names its shared-library
# dependencies and its conffile; the package, unpacked into a temp root,
# runs: the installed chatd starts on the installed configuration, the
# installed chat registers an account on it, which logs in; SIGHUP
# reloads it. The
# unit passes `systemd-analyze verify`, both man pages render with
# `man -l` without a warning and name every option of --help, and the
# sample configuration mentions every option.
set -u
. "$(dirname "$0")/lib.sh"
cd "$T_ROOT"
dir=$(mktemp -d "${TMPDIR:-/tmp}/chatd-install.XXXXXX")
chmod 755 "$dir"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
make_args=(--no-print-directory -s BUILD="$BUILD")

make_install() {
  make "${make_args[@]}" install DESTDIR="$dir/stage" PREFIX=/usr/local > "$dir/install.log" 2>&1 ||
    { cat "$dir/install.log"; return 1; }
  local f
  for f in usr/local/bin/chatd usr/local/bin/chat usr/local/bin/chat-bench \
           usr/local/share/man/man8/chatd.8 usr/local/share/man/man1/chat.1 \
           etc/chatd/chatd.conf usr/local/lib/systemd/system/chatd.service; do
    [ -e "$dir/stage/$f" ] || { echo "missing $f"; return 1; }
  done
  grep -q '^ExecStart=/usr/local/bin/chatd ' "$dir/stage/usr/local/lib/systemd/system/chatd.service"
}

keeps_existing_conf() {
  echo "port = 1234" > "$dir/stage/etc/chatd/chatd.conf"
  make "${make_args[@]}" install DESTDIR="$dir/stage" PREFIX=/usr/local > /dev/null 2>&1 &&
  grep -qx "port = 1234" "$dir/stage/etc/chatd/chatd.conf"
}

make_deb() {
  make "${make_args[@]}" deb > "$dir/deb.log" 2>&1 || { cat "$dir/deb.log"; return 1; }
  local deb
  deb=$(ls "$T_ROOT/$BUILD"/chatd_*_*.deb | head -1)
  [ -f "$deb" ] && dpkg-deb -f "$deb" Package | grep -qx chatd &&
  dpkg-deb -f "$deb" Depends | grep -q 'libuv1' &&
  dpkg-deb -f "$deb" Depends | grep -q 'adduser' &&
  dpkg-deb -I "$deb" conffiles | grep -qx /etc/chatd/chatd.conf &&
  dpkg-deb -I "$deb" postinst > "$dir/postinst" && sh -n "$dir/postinst" &&
  grep -q 'adduser --system' "$dir/postinst"
}

root="$dir/root"
deb_runs() {
  local deb
  deb=$(ls "$T_ROOT/$BUILD"/chatd_*_*.deb | head -1)
  dpkg -x "$deb" "$root" || return 1
  local cfg="$root/etc/chatd/chatd.conf" api
  mkdir -p "$root/var/lib/chatd" "$root/etc/chatd/secrets"
  "$root/usr/bin/chatd" --config "$cfg" --print-config > "$dir/printed" || return 1
  grep -q "^data = /var/lib/chatd .*chatd.conf" "$dir/printed" || return 1
  # the installed file, paths pointed into the temp root by flags
  "$root/usr/bin/chatd" --config "$cfg" --data "$root/var/lib/chatd" \
    --secrets "$root/etc/chatd/secrets" --port 0 --port-file "$dir/port" --argon2 min \
    --log-format json > "$dir/chatd.log" 2>&1 &
  pid=$!
  local i
  for i in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.05; done
  [ -s "$dir/port" ] || { cat "$dir/chatd.log"; return 1; }
  api="http://127.0.0.1:$(cat "$dir/port")"
  TEST_PASSWORD=install-test-pw "$root/usr/bin/chat" --api "$api" -u installer register &&
  curl -sf -X POST -d '{"username":"installer","password":"install-test-pw"}' "$api/auth" |
    grep -q sessionToken || { cat "$dir/chatd.log"; return 1; }
  kill -HUP "$pid"
  for i in $(seq 100); do grep -q '"reload done"' "$dir/chatd.log" && break; sleep 0.05; done
  kill -TERM "$pid"; wait "$pid"; local rc=$?; pid=""
  [ "$rc" -eq 0 ] && grep -q '"reload done"' "$dir/chatd.log" && [ -f "$root/var/lib/chatd/chatd.db" ]
}

unit_verifies() {
  # ExecStart pointed at the unpacked binary; the man pages found there (Documentation=)
  mkdir -p "$dir/unit"
  sed "s|/usr/bin/chatd|$root/usr/bin/chatd|" "$root/lib/systemd/system/chatd.service" > "$dir/unit/chatd.service"
  MANPATH="$root/usr/share/man" SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$dir/unit/chatd.service" || return 1
  local k
  for k in 'User=chatd' 'StateDirectory=chatd' 'NoNewPrivileges=yes' 'ProtectSystem=strict' \
           'ProtectHome=yes' 'PrivateTmp=yes' 'PrivateDevices=yes' 'RestrictAddressFamilies=' \
           'CapabilityBoundingSet=$' 'LimitNOFILE=' 'ExecReload=/bin/kill -HUP $MAINPID'; do
    grep -q "^$k" "$dir/unit/chatd.service" || { echo "unit lacks $k"; return 1; }
  done
}

man_renders() {
  local page out
  for page in man/chatd.8 man/chat.1; do
    out=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
    [ -z "$out" ] || { echo "$page: $out"; return 1; }
    MANWIDTH=80 man -l "$page" 2>/dev/null | grep -q "SYNOPSIS" || return 1
  done
}

options_documented() {
  local opt
  for opt in $("$T_ROOT/$BUILD/chatd" --help | grep -oE '^  --[a-z0-9-]+' | sed 's/^  --//'); do
    grep -q -- "\\\\-\\\\-${opt//-/\\\\-}\\b" man/chatd.8 || { echo "chatd.8 lacks --$opt"; return 1; }
    case $opt in help|version|print-config|config) continue ;; esac
    grep -qE "^(# )?$opt = " etc/chatd.conf || { echo "etc/chatd.conf lacks $opt"; return 1; }
  done
  for opt in $("$T_ROOT/$BUILD/chat" --help 2>&1 | grep -oE -- '--[a-z-]+' | sort -u | sed 's/^--//'); do
    grep -q -- "\\\\-\\\\-${opt//-/\\\\-}" man/chat.1 || { echo "chat.1 lacks --$opt"; return 1; }
  done
}

check "make install stages binaries, man pages, conf, unit" make_install
check "make install keeps an existing chatd.conf" keeps_existing_conf
check "make deb: control, Depends, conffiles, postinst" make_deb
check "the .deb unpacked into a temp root runs (chatd + chat, SIGHUP, stop)" deb_runs
check "systemd-analyze verify accepts the hardened unit" unit_verifies
check "man -l renders chatd(8) and chat(1) without warnings" man_renders
check "every option in chatd(8), chat(1) and the sample chatd.conf" options_documented
summary
