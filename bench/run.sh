#!/usr/bin/env bash
# bench/run.sh BUILD_DIR — what `make bench` runs: every chat-bench scenario
# against chatd and against the Node.js + ws baseline (bench/baseline), in
# one run, then docs/BENCHMARKS.md and its PNG plots.
#
# Each scenario gets fresh servers (temp data dir, free port) and stops
# them by PID. Knobs (environment):
#   BENCH_DURATION=5   measured seconds per phase     BENCH_WARMUP=1
#   BENCH_SWEEP=0.01,0.05,0.1,0.25,0.5,0.75,0.9 fixed-rate steps, fractions of saturation
#   BENCH_CONNECTIONS=100000  idle sockets on chatd (capped by the fd limit)
#   BENCH_BASELINE_CONNECTIONS=20000  idle sockets on the baseline
#   BENCH_HOLD=10      seconds the idle sockets are held
#   BENCH_OUT=docs     where BENCHMARKS.md and the PNGs go
#   BENCH_QUICK=1      a short smoke-sized run (for development)
#   BENCH_CLUSTER=1    also fan-out against a whole cluster (scripts/cluster), each bus
#   BENCH_HISTORY=1    the scale-with-history scenarios (issue #11): connects with a
#                      seeded history, the reconnect storm, durable writes at 10 million
#                      stored messages (chatd on SQLite; the store on SQLite and PostgreSQL)
#   BENCH_SEARCH=1     search latency over 1 million messages on SQLite (issue #13)
#   BENCH_SCALE=1      100,000 sockets over a local cluster, one message to all of them
#   BENCH_SCALE_CONNECTIONS=100000 BENCH_SCALE_CHAT=7 (chat servers)
#   BENCH_PREVIOUS="BIN..."  older chatd binaries: fan-out, connects and durable writes
#                      are measured for each and for this build back to back (same run,
#                      same machine state) and reported side by side with the ratios
#   BENCH_PREVIOUS_ROUNDS=3  times each of those scenarios runs for each binary
#                      (interleaved); the report shows the median
#   BENCH_PREVIOUS_LABEL="NAME..."  their names in the report (default: the paths)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=${1:-build}
BENCH=$BUILD/chat-bench
CHATD=$BUILD/chatd
OUT=${BENCH_OUT:-docs}
DURATION=${BENCH_DURATION:-5}
WARMUP=${BENCH_WARMUP:-1}
SWEEP=${BENCH_SWEEP:-0.01,0.05,0.1,0.25,0.5,0.75,0.9}
CONNS=${BENCH_CONNECTIONS:-100000}
BCONNS=${BENCH_BASELINE_CONNECTIONS:-20000}
HOLD=${BENCH_HOLD:-10}
FAN1_M=1000 FAN1_S=10 FAN2_R=100 FAN2_M=100 FAN2_S=100
FAN_W=32 # messages in flight per sender at saturation: fewer and the window, not the server, is the limit
DUR_R=100 DUR_W=256 # deep enough that the store, not the window, is the limit
FAN3_R=50 FAN3_M=20  # chatd's small-channel case (issue #16)
DM_PAIRS=1000        # direct-message pairs, both sides sending
# Seeded history (bench/seed.h): U users all in B big channels, the first M in groups
# of G sharing K small channels; a measured user is in B + K = 20 channels.
HIST_POP=1000:2:200:10:18
HIST_MSGS=991000:1000      # per big:small channel: 2,000,000 in a measured user's 20
BIG_MSGS=2000000:16667     # 10,000,120 messages in all (the durable-at-10M store)
HIST_USERS=200 HIST_ROUNDS=10 HIST_CONNS=2000 STORM_N=10000 STORE_S=10
SEARCH_N=1000000 # messages searched (issue #13: < 50 ms p99 at 1 million on SQLite)
SCALE_N=${BENCH_SCALE_CONNECTIONS:-100000} SCALE_CHAT=${BENCH_SCALE_CHAT:-7} SCALE_JOINS=19000
PREV_ROUNDS=${BENCH_PREVIOUS_ROUNDS:-3}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
  DURATION=1 WARMUP=0.5 SWEEP=0.25,0.5 CONNS=2000 BCONNS=1000 HOLD=1
  FAN1_M=200 FAN2_R=10 FAN2_M=50 FAN2_S=10 DUR_R=20 FAN3_R=10 DM_PAIRS=100
  HIST_POP=100:2:20:10:4 HIST_MSGS=20000:500 BIG_MSGS=100000:2000
  HIST_USERS=20 HIST_ROUNDS=3 HIST_CONNS=200 STORM_N=1000 STORE_S=2
  SEARCH_N=50000
  SCALE_N=${BENCH_SCALE_CONNECTIONS:-3000} SCALE_CHAT=${BENCH_SCALE_CHAT:-2} SCALE_JOINS=2000
  PREV_ROUNDS=${BENCH_PREVIOUS_ROUNDS:-1}
fi
CHATD_FLAGS="--argon2 min --rate-per-sec 1000000 --rate-burst 1000000 --log-level warn
  --register-per-sec 1000000 --auth-fail-per-addr 1000000 --max-conns-per-user 0
  --max-hash-queue 1000000 --max-pending-per-addr 1000000"
BASELINE_FLAGS="--scrypt-cost 16"

for f in "$BENCH" "$CHATD"; do
  [ -x "$f" ] || { echo "run.sh: $f is missing (make $f)" >&2; exit 1; }
done
command -v node >/dev/null || { echo "run.sh: node is missing (scripts/deps.sh bench)" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "run.sh: gnuplot is missing (scripts/deps.sh bench)" >&2; exit 1; }
if [ ! -d bench/baseline/node_modules ]; then
  echo "== installing the baseline's npm packages"
  (cd bench/baseline && npm ci --no-audit --no-fund --loglevel=error)
fi

# As many file descriptors as allowed, for chatd and chat-bench alike.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FDS=$(ulimit -n)
if [ "$CONNS" -gt $((FDS - 200)) ]; then CONNS=$((FDS - 200)); fi
if [ "$BCONNS" -gt "$CONNS" ]; then BCONNS=$CONNS; fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/chatd-bench.XXXXXX")
RES=$WORK/results
mkdir -p "$RES" "$OUT"
: > "$RES/commands.tsv"
SRV_PID=""
SRV_URL=""
CLUSTER_DIR=""

stop_server() {
  if [ -n "$SRV_PID" ]; then
    kill "$SRV_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SRV_PID" 2>/dev/null || true
    wait "$SRV_PID" 2>/dev/null || true
  fi
  SRV_PID=""
}
cluster_down() {
  [ -n "$CLUSTER_DIR" ] && CHATD_CLUSTER_DIR=$CLUSTER_DIR scripts/cluster down > /dev/null || true
  CLUSTER_DIR=""
}
cleanup() {
  stop_server
  cluster_down
  stop_pg
  if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "run.sh: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_port() { # FILE -> prints the port
  for _ in $(seq 1 100); do
    if [ -s "$1" ]; then cat "$1"; return 0; fi
    kill -0 "$SRV_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "run.sh: the server did not start; its log:" >&2
  tail -20 "$(dirname "$1")/server.log" >&2
  return 1
}

# The flags of CHATD_FLAGS that BINARY knows (an older build lacks newer ones).
flags_for() { # BINARY
  local help out="" f v; help=$("$1" --help 2>&1)
  # shellcheck disable=SC2086
  set -- $CHATD_FLAGS
  while [ $# -ge 2 ]; do
    f=$1 v=$2; shift 2
    grep -q -- "$f " <<< "$help" && out="$out $f $v"
  done
  echo "$out"
}

# Starts chatd in a fresh temp dir, or in DIR (its data/ and secrets/ kept).
# SRV_RESTART is then a command that starts it again on the same port.
start_chatd() { # FSYNC(on|off) [BINARY] [DIR]
  local bin=${2:-$CHATD} flags=$CHATD_FLAGS d=${3:-}
  [ "$bin" != "$CHATD" ] && flags=$(flags_for "$bin")
  [ -n "$d" ] || d=$(mktemp -d "$WORK/chatd.XXXX")
  mkdir -p "$d/data" "$d/secrets"
  [ -s "$d/secrets/jwt_secret.txt" ] || head -c 32 /dev/urandom | base64 > "$d/secrets/jwt_secret.txt"
  rm -f "$d/port"
  local args="--data $d/data --secrets $d/secrets --fsync $1 $(echo $flags)"
  [ -n "${CHATD_TLS_DIR:-}" ] && args="$args --tls-cert $CHATD_TLS_DIR/server.pem --tls-key $CHATD_TLS_DIR/server.key"
  # shellcheck disable=SC2086
  "$bin" --port 0 --port-file "$d/port" $args > "$d/server.log" 2>&1 &
  SRV_PID=$!
  local port; port=$(wait_port "$d/port")
  SRV_URL="http${CHATD_TLS_DIR:+s}://127.0.0.1:$port"
  SRV_RESTART="exec $bin --port $port $args >> $d/server.log 2>&1"
}

start_baseline() {
  local d; d=$(mktemp -d "$WORK/baseline.XXXX")
  # shellcheck disable=SC2086
  node bench/baseline/server.js --port 0 --port-file "$d/port" $BASELINE_FLAGS > "$d/server.log" 2>&1 &
  SRV_PID=$!
  SRV_URL="http://127.0.0.1:$(wait_port "$d/port")"
}

# PostgreSQL 15 for the store measurements, with its durability settings as
# shipped (fsync on); databases "empty" and "big". PG_INFO: its conninfo.
PG_PID=""
start_pg() {
  local pb=/usr/lib/postgresql/15/bin d
  PGDIR=$(mktemp -d "${TMPDIR:-/tmp}/chatd-bench-pg.XXXXXX") # not under $WORK: postgres must reach it
  d=$PGDIR
  chmod 755 "$d"; chown postgres "$d"
  runuser -u postgres -- "$pb/initdb" -D "$d/data" -U postgres --auth=trust --encoding=UTF8 \
    --locale=C.UTF-8 -N > "$d/initdb.log" 2>&1 || { echo "run.sh: initdb failed" >&2; return 1; }
  local port; port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  setpriv --reuid=postgres --regid=postgres --init-groups -- "$pb/postgres" -D "$d/data" -p "$port" \
    -c listen_addresses=127.0.0.1 -c unix_socket_directories="$d" -c max_wal_size=8GB > "$d/pg.log" 2>&1 &
  PG_PID=$!
  for _ in $(seq 100); do pg_isready -q -h 127.0.0.1 -p "$port" && break; sleep 0.1; done
  PG_INFO="host=127.0.0.1 port=$port user=postgres"
  psql -q -h 127.0.0.1 -p "$port" -U postgres -c "CREATE DATABASE empty" -c "CREATE DATABASE big" \
    > /dev/null
}
stop_pg() {
  if [ -n "$PG_PID" ]; then kill "$PG_PID" 2>/dev/null; wait "$PG_PID" 2>/dev/null || true; fi
  PG_PID=""
  [ -n "${PGDIR:-}" ] && rm -rf "$PGDIR"
  PGDIR=""
}

# bench NAME ARGS... — one chat-bench run against the running server.
bench() {
  local name=$1; shift
  local pid=() url=(); [ -n "$SRV_PID" ] && pid=(--server-pid "$SRV_PID")
  [ -n "$SRV_URL" ] && url=(--url "$SRV_URL")
  alone "$name" "${url[@]}" "${pid[@]}" "$@"
}
# alone NAME ARGS... — one chat-bench run with only these arguments (no server,
# or one the arguments name).
alone() {
  local name=$1; shift
  echo "== $name" >&2
  # the reproduce line: without this run's server, temp paths shown as $WORK
  local shown="" skip=0 a
  for a in "$@"; do
    if [ $skip = 1 ]; then skip=0; continue; fi
    case "$a" in --url|--server-pid|--restart-cmd) skip=1; continue ;; esac
    a=${a//$WORK/\$WORK}
    case "$a" in *" "*|"") shown="$shown '$a'" ;; *) shown="$shown $a" ;; esac
  done
  printf '%s\t%s\n' "$name" "$BENCH$shown --json" >> "$RES/commands.tsv"
  if ! "$BENCH" --json "$@" > "$RES/$name.json"; then
    echo "run.sh: $name failed (see above); continuing" >&2
    echo '{"failed": true}' > "$RES/$name.json"
  fi
}

start_target() { # chatd|baseline
  if [ "$1" = chatd ]; then start_chatd on; else start_baseline; fi
}

T0=$(date +%s)
# No server: what one delivery costs the kernel here (the floor under fan-out latency).
bench loopback --scenario loopback --members $FAN1_M --duration "$DURATION"
for target in chatd baseline; do
  common=(--duration "$DURATION" --warmup "$WARMUP" --sweep "$SWEEP" --window $FAN_W)
  start_target $target
  bench "fanout-1x$FAN1_M-$target" --scenario fanout --channels 1 --members $FAN1_M \
    --senders $FAN1_S "${common[@]}"
  stop_server
  start_target $target
  bench "fanout-${FAN2_R}x$FAN2_M-$target" --scenario fanout --channels $FAN2_R \
    --members $FAN2_M --senders $FAN2_S "${common[@]}"
  stop_server
done
# Per-message cost (issue #16): the small-channel case and many direct-message
# pairs, unpaced (saturation only), chatd alone.
start_chatd on
bench "fanout-${FAN3_R}x$FAN3_M-chatd" --scenario fanout --channels $FAN3_R --members $FAN3_M \
  --senders $FAN3_R --duration "$DURATION" --warmup "$WARMUP" --sweep "" --window $FAN_W
stop_server
start_chatd on
bench dm-chatd --scenario dm --channels $DM_PAIRS --duration "$DURATION" --warmup "$WARMUP" \
  --sweep "" --window $FAN_W
stop_server
# Protocol 1.1 (issue #13): edits fanned out (message_updated), 1xM, unpaced.
start_chatd on
bench "edits-1x$FAN1_M-chatd" --scenario edits --channels 1 --members $FAN1_M \
  --senders $FAN1_S --duration "$DURATION" --warmup "$WARMUP" --sweep "" --window $FAN_W
stop_server

# TLS (issue #15): the 1xM fan-out over wss:// and in clear, back to back, with
# the same arguments (saturation only): what the cipher costs per delivery.
TLS_CERTS=$(mktemp -d "$WORK/tls.XXXX")
scripts/mkcert.sh "$TLS_CERTS"
for mode in plain tls; do
  if [ $mode = tls ]; then CHATD_TLS_DIR=$TLS_CERTS start_chatd on; else start_chatd on; fi
  bench "fanout-1x$FAN1_M-chatd-$mode" --scenario fanout --channels 1 --members $FAN1_M \
    --senders $FAN1_S --duration "$DURATION" --warmup "$WARMUP" --sweep "" --window $FAN_W \
    --ca-file "$TLS_CERTS/ca.pem"
  stop_server
done

start_chatd on
bench connections-chatd --scenario connections --connections "$CONNS" --hold "$HOLD"
stop_server
start_baseline
bench connections-baseline --scenario connections --connections "$BCONNS" --hold "$HOLD"
stop_server

durable() { # NAME: the durable scenario against the running chatd
  bench "$1" --scenario durable --channels $DUR_R --members 1 --senders $DUR_R --window $DUR_W \
    --duration "$DURATION" --warmup "$WARMUP"
}
if [ "${BENCH_HISTORY:-1}" = 1 ]; then
  # 10 million stored messages (bench/seed.h), written straight into SQLite while
  # no chatd runs; then the same durable run on an empty and on this data dir,
  # back to back.
  BIGDIR=$(mktemp -d "$WORK/big.XXXX")
  mkdir -p "$BIGDIR/data"
  alone seed-10m --scenario seed --db "sqlite:$BIGDIR/data/chatd.db" --prefix big \
    --population $HIST_POP --messages $BIG_MSGS
fi
start_chatd on
durable durable-fsync-on-chatd
stop_server
if [ -n "${BIGDIR:-}" ]; then
  start_chatd on "$CHATD" "$BIGDIR"
  durable durable-10m-chatd
  stop_server
fi
start_chatd off
durable durable-fsync-off-chatd
stop_server
start_baseline
bench durable-baseline --scenario durable --channels $DUR_R --members 1 --senders $DUR_R \
  --window $DUR_W --duration "$DURATION" --warmup "$WARMUP"
stop_server

if [ "${BENCH_HISTORY:-1}" = 1 ]; then
  # Connects with history (issue #11): the same users and memberships, first with
  # no messages, then with a measured user's 20 channels holding 2 million; chatd
  # restarted on the data dir in between. --db: a check of chatd's unread counts
  # against COUNTs over the stored rows.
  HDIR=$(mktemp -d "$WORK/history.XXXX")
  mkdir -p "$HDIR/data"
  hdb="sqlite:$HDIR/data/chatd.db"
  hist=(--scenario history --prefix hist --population $HIST_POP --users $HIST_USERS
    --rounds $HIST_ROUNDS --connections $HIST_CONNS --db "$hdb") # --messages: what was seeded
  alone seed-population --scenario seed --db "$hdb" --prefix hist --population $HIST_POP
  start_chatd on "$CHATD" "$HDIR"
  bench history-empty "${hist[@]}"
  stop_server
  alone seed-2m --scenario seed --db "$hdb" --prefix hist --population $HIST_POP \
    --messages $HIST_MSGS
  start_chatd on "$CHATD" "$HDIR"
  bench history-2m "${hist[@]}" --messages $HIST_MSGS
  # The reconnect storm on the same data: fresh connects, then a restart under them.
  bench storm-2m --scenario storm --prefix hist --users "${HIST_POP%%:*}" --connections $STORM_N \
    --sources 40 --restart-cmd "$SRV_RESTART"
  stop_server

  # The store itself, appends with a window in flight, fsync on: SQLite (an empty
  # file, then the 10M data dir) and PostgreSQL (an empty database, then one
  # seeded with the same 10M; synchronous_commit on).
  store=(--scenario store --channels $DUR_R --duration $STORE_S --warmup 2)
  alone store-sqlite-empty "${store[@]}" --db "sqlite:$WORK/store-empty.db"
  alone store-sqlite-10m "${store[@]}" --db "sqlite:$BIGDIR/data/chatd.db" --prefix store10m
  if start_pg; then
    alone seed-10m-pg --scenario seed --db "pg:$PG_INFO dbname=big" --prefix big \
      --population $HIST_POP --messages $BIG_MSGS
    alone store-pg-empty "${store[@]}" --db "pg:$PG_INFO dbname=empty" --window 1024
    alone store-pg-10m "${store[@]}" --db "pg:$PG_INFO dbname=big" --window 1024
  fi
  stop_pg
fi

# Full-text search (issue #13): SEARCH_N messages seeded once into SQLite (the
# store's own triggers index them), then searches through the store, by kind.
if [ "${BENCH_SEARCH:-1}" = 1 ]; then
  SDIR=$(mktemp -d "$WORK/search.XXXX")
  alone search-1m --scenario search --db "sqlite:$SDIR/chatd.db" --messages "$SEARCH_N" \
    --channels 100 --members 20 --rounds 200
  rm -rf "$SDIR"
  # the same seed and searches on PostgreSQL (the cluster's store)
  if start_pg; then
    alone search-1m-pg --scenario search --db "pg:$PG_INFO dbname=empty" --messages "$SEARCH_N" \
      --channels 100 --members 20 --rounds 200
  fi
  stop_pg
fi

# This build against older ones: each scenario runs for every binary in
# turn (fresh server each), and the whole set PREV_ROUNDS times; the report
# takes each figure's median over the rounds (these 2-core machines are noisy).
# The order turns by one each round, so that no binary always runs first or
# always right after the same one (the kernel still holds the previous run's
# closing sockets when the next server starts).
prev_scenario() { # WHO BIN SCENARIO ROUND
  local who=$1 bin=$2 name=$3-r$4
  start_chatd on "$bin"
  case $3 in
    fanout-1x*) bench "$who-$name" --scenario fanout --channels 1 --members $FAN1_M \
      --senders $FAN1_S --duration "$DURATION" --warmup "$WARMUP" --sweep "" --window $FAN_W ;;
    fanout-"$FAN2_R"x*) bench "$who-$name" --scenario fanout --channels $FAN2_R \
      --members $FAN2_M --senders $FAN2_S --duration "$DURATION" --warmup "$WARMUP" --sweep "" \
      --window $FAN_W ;;
    fanout-*) bench "$who-$name" --scenario fanout --channels $FAN3_R --members $FAN3_M \
      --senders $FAN3_R --duration "$DURATION" --warmup "$WARMUP" --sweep "" --window $FAN_W ;;
    dm) bench "$who-$name" --scenario dm --channels $DM_PAIRS --duration "$DURATION" \
      --warmup "$WARMUP" --sweep "" --window $FAN_W ;;
    connections) bench "$who-$name" --scenario connections --connections "$BCONNS" --hold 1 ;;
    durable) bench "$who-$name" --scenario durable --channels $DUR_R --members 1 \
      --senders $DUR_R --window $DUR_W --duration "$DURATION" --warmup "$WARMUP" ;;
  esac
  stop_server
}
rotate() { # N WORDS...: the words, starting at the (N+1)th and wrapping around
  local n=$1; shift
  local w=("$@")
  for ((k = 0; k < ${#w[@]}; k++)); do echo "${w[(k + n) % ${#w[@]}]}"; done
}
if [ -n "${BENCH_PREVIOUS:-}" ]; then
  WHO="" i=0
  for b in $BENCH_PREVIOUS; do
    [ -x "$b" ] || { echo "run.sh: BENCH_PREVIOUS: $b is not executable" >&2; exit 1; }
    i=$((i + 1)); WHO="$WHO prev$i"
  done
  for round in $(seq "$PREV_ROUNDS"); do
    for scen in "fanout-1x$FAN1_M" "fanout-${FAN2_R}x$FAN2_M" "fanout-${FAN3_R}x$FAN3_M" dm \
        connections durable; do
      # shellcheck disable=SC2086
      for who in $(rotate $(( (round - 1) % (i + 1) )) $WHO cur); do
        bin=$CHATD
        # shellcheck disable=SC2086
        [ $who = cur ] || bin=$(set -- $BENCH_PREVIOUS; eval echo "\${${who#prev}}")
        prev_scenario "$who" "$bin" "$scen" "$round"
      done
    done
  done
fi

# The cluster (1 api, 3 chat, 2 presence, 2 dispatcher chatd processes plus
# Redis, ZooKeeper, PostgreSQL and, for Kafka, the mock broker, all on these
# same cores): chat-bench registers through the API and dials the chat server
# /auth names for each user. The point is correctness under load.
cluster_up() { # NAME ARGS...: scripts/cluster up ARGS; CLUSTER_DIR, SRV_URL; SRV_PID stays
  local name=$1; shift       # empty: the chatd processes are named with --server-pid
  CLUSTER_DIR=$(mktemp -u "${TMPDIR:-/tmp}/chatd-bench-cluster.XXXXXX") # not under $WORK: PostgreSQL runs as postgres
  if CHATD_CLUSTER_DIR=$CLUSTER_DIR CHATD_BUILD=$ROOT/$BUILD CHATD_CLUSTER_FLAGS="$CHATD_FLAGS" \
      scripts/cluster up "$@" > "$WORK/cluster-$name.log" 2>&1; then
    SRV_URL=$(cat "$CLUSTER_DIR/api_url") SRV_PID=""
    return 0
  fi
  echo "run.sh: the $name cluster did not start:" >&2; tail -5 "$WORK/cluster-$name.log" >&2
  echo '{"failed": true}' > "$RES/$name.json"
  return 1
}
# Every chatd process of the cluster (for CPU), or with @PORT only the chat servers.
cluster_pids() { # [ports]
  local f n out=""
  for f in "$CLUSTER_DIR"/pids/*; do
    n=$(basename "$f")
    case "$n" in api|chat*|dispatcher*|presence*) ;; *) continue ;; esac
    if [ "${1:-}" = ports ]; then
      case "$n" in chat*) out="$out,$(cat "$f")@$(cat "$CLUSTER_DIR/$n/port")" ;; esac
    else
      out="$out,$(cat "$f")"
    fi
  done
  echo "${out#,}"
}
if [ "${BENCH_CLUSTER:-1}" = 1 ]; then
  for bus in redis kafka; do
    name="cluster-fanout-${FAN2_R}x$FAN2_M-$bus"
    if cluster_up "$name" --bus $bus; then
      bench "$name" --scenario fanout --channels $FAN2_R --server-pid "$(cluster_pids)" \
        --members $FAN2_M --senders $FAN2_S --duration "$DURATION" --warmup 3 --sweep 0.5 \
        --window $FAN_W
    fi
    cluster_down
  done
fi

# 100,000 sockets (issue #11): more than one process may hold here (ulimit -Hn), so
# chat-bench spreads them over generator processes and a cluster with enough chat
# servers holds them, all members of one channel, then one message to all of them.
# The membership is seeded into the cluster's PostgreSQL (--db): a join_channel on a
# cluster chat server re-reads the channel's whole member list, so 100,000 joins
# would cost O(N^2); the joins themselves are measured on one chatd (scale-joins).
if [ "${BENCH_SCALE:-1}" = 1 ]; then
  if cluster_up scale-cluster --bus redis --chat "$SCALE_CHAT"; then
    bench scale-cluster --scenario scale --connections "$SCALE_N" --server-pid "$(cluster_pids ports)" \
      --hold 2 --setup-timeout 600 --prefix scale \
      --db "pg:host=127.0.0.1 port=$(cat "$CLUSTER_DIR/ports/postgres") user=postgres dbname=postgres"
  fi
  cluster_down
  start_chatd on
  bench scale-joins --scenario scale --connections "$SCALE_JOINS" --processes 2 --hold 1 \
    --server-pid "$SRV_PID@${SRV_URL##*:}"
  stop_server
fi
ELAPSED=$(( $(date +%s) - T0 ))

# ---- the report ----
echo "== writing $OUT/BENCHMARKS.md" >&2
export RES OUT ELAPSED CHATD_FLAGS BASELINE_FLAGS FDS DURATION WARMUP SWEEP HOLD BCONNS PREV_ROUNDS
export BENCH_PREVIOUS=${BENCH_PREVIOUS:-} PREVIOUS_VERSION=${BENCH_PREVIOUS_LABEL:-${BENCH_PREVIOUS:-}}
export FAN1="1x$FAN1_M" FAN2="${FAN2_R}x$FAN2_M" FAN3="${FAN3_R}x$FAN3_M" DM_PAIRS
export HIST_POP HIST_MSGS BIG_MSGS SCALE_N SCALE_CHAT SCALE_JOINS
export MACHINE_NPROC=$(nproc)
export MACHINE_CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
export MACHINE_RAM=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)
export MACHINE_KERNEL=$(uname -sr)
export NODE_VERSION=$(node --version)
export WS_VERSION=$(node -p "require('./bench/baseline/node_modules/ws/package.json').version")
export CHATD_VERSION=$("$CHATD" --version 2>&1 | head -1)
node bench/report.js
for fan in "$FAN1" "$FAN2"; do
  gnuplot -e "chatd='$RES/fanout-$fan-chatd.dat'; baseline='$RES/fanout-$fan-baseline.dat'; \
    out='$OUT/bench-fanout-$fan.png'; label='$fan'" bench/plot.gp
done
echo "== done in ${ELAPSED}s: $OUT/BENCHMARKS.md" >&2
