#!/usr/bin/env bash
# tier: check
# test_config: where chatd's settings come from (docs/OPERATIONS.md,
# "Configure"). Flags win over CHATD_* environment variables, which win over
# the configuration file, which wins over the defaults, as --print-config
# shows with each value's source; a bad file is refused with its name and
# line; secrets are masked; --print-config's output reads back.
set -u
. "$(dirname "$0")/lib.sh"
cd "$T_ROOT"
CHATD="$T_ROOT/$BUILD/chatd"
dir=$(mktemp -d "${TMPDIR:-/tmp}/chatd-config.XXXXXX")
trap 'rm -rf "$dir"' EXIT
unset CHATD_CONFIG CHATD_PORT CHATD_RATE_PER_SEC CHATD_MAX_CONNS_PER_USER CHATD_LOG_FORMAT

cat > "$dir/chatd.conf" <<'CONF'
# a comment
; another
[chatd]
port = 9001
rate-per-sec = 11
max-conns-per-user = 7   ; inline comment
log-format = json
allowed-origins = "https://chat.example.com"
pg = host=db.example port=5432 user=chatd password=hunter2 dbname=chatd
CONF

line() { # line KEY: the --print-config line of KEY
  grep -E "^$1 = " "$dir/out"
}

precedence() {
  CHATD_PORT=9002 CHATD_RATE_PER_SEC=12 "$CHATD" --config "$dir/chatd.conf" --port 9003 \
    --print-config > "$dir/out" || return 1
  line port | grep -q "^port = 9003 .*; flag --port$" &&
  line rate-per-sec | grep -q "^rate-per-sec = 12 .*; environment CHATD_RATE_PER_SEC$" &&
  line max-conns-per-user | grep -q "^max-conns-per-user = 7 .*; $dir/chatd.conf:6$" &&
  line max-channels-per-user | grep -q "^max-channels-per-user = 10000 .*; default$" &&
  line log-format | grep -q "= json .*chatd.conf:7$" &&
  line allowed-origins | grep -q "= https://chat.example.com " || { cat "$dir/out"; return 1; }
}

every_option_printed() {
  "$CHATD" --config "$dir/chatd.conf" --print-config > "$dir/out" || return 1
  local opt
  for opt in $("$CHATD" --help | grep -oE '^  --[a-z0-9-]+' | sed 's/^  --//'); do
    case $opt in help|version|print-config) continue ;; esac
    grep -qE "^;? ?$opt = " "$dir/out" || { echo "--print-config lacks $opt"; return 1; }
  done
}

secrets_masked() {
  "$CHATD" --config "$dir/chatd.conf" --print-config > "$dir/out" || return 1
  ! grep -q hunter2 "$dir/out" && line pg | grep -q "password=\*\*\*\*\*\*\*\* dbname=chatd"
}

reads_back() {
  CHATD_RATE_PER_SEC=12 "$CHATD" --config "$dir/chatd.conf" --print-config > "$dir/printed.conf" &&
  "$CHATD" --config "$dir/printed.conf" --print-config > "$dir/out" &&
  line rate-per-sec | grep -q "^rate-per-sec = 12 .*printed.conf:" &&
  line max-conns-per-user | grep -q "= 7 "
}

env_over_file_over_default() {
  CHATD_MAX_CONNS_PER_USER=3 "$CHATD" --config "$dir/chatd.conf" --print-config > "$dir/out" &&
  line max-conns-per-user | grep -q "= 3 .*environment" &&
  "$CHATD" --config '' --print-config > "$dir/out" &&
  line max-conns-per-user | grep -q "= 20 .*; default$" &&
  line port | grep -q "= 8080 .*; default$"
}

# expect_error FILE-CONTENT MESSAGE: chatd refuses the file, exit 2, naming it
expect_error() {
  printf '%b' "$1" > "$dir/bad.conf"
  local out rc
  out=$("$CHATD" --config "$dir/bad.conf" --print-config 2>&1); rc=$?
  [ "$rc" -eq 2 ] || { echo "exit $rc: $out"; return 1; }
  case $out in *"$dir/bad.conf$2"*) return 0 ;; esac
  echo "expected '$dir/bad.conf$2' in: $out"; return 1
}

errors_name_file_and_line() {
  expect_error 'port = 1\n\nport = x\n' ":3: invalid value for port: 'x'" &&
  expect_error '[chatd]\nno-such-option = 1\n' ":2: unknown option 'no-such-option'" &&
  expect_error 'port 8080\n' ":1: syntax error" &&
  expect_error '[other]\nport = 1\n' ":2: unknown section [other]" &&
  expect_error 'config = /etc/x\n' ":1: 'config' cannot be set" &&
  expect_error 'log-format = xml\n' ":1: invalid value for log-format: 'xml'"
}

missing_file_refused() {
  local out
  out=$("$CHATD" --config "$dir/nope.conf" 2>&1); [ $? -eq 2 ] && [[ $out == *"$dir/nope.conf"* ]]
}

bad_flag_and_env() {
  local out
  out=$("$CHATD" --config '' --port x 2>&1); [ $? -eq 2 ] && [[ $out == *"--port: 'x'"* ]] || return 1
  out=$(CHATD_PORT=y "$CHATD" --config '' 2>&1); [ $? -eq 2 ] && [[ $out == *"CHATD_PORT"* ]]
}

check "flag > environment > file > default (--print-config)" precedence
check "--print-config lists every option of --help" every_option_printed
check "secrets masked (password inside --pg)" secrets_masked
check "--print-config output reads back as a file" reads_back
check "environment over file, file over default, --config '' = none" env_over_file_over_default
check "bad files: errors name the file and the line" errors_name_file_and_line
check "a missing --config file is an error" missing_file_refused
check "bad flag / environment values name the flag / variable" bad_flag_and_env
summary
