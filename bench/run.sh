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
#   BENCH_PREVIOUS=BIN an older chatd binary: fan-out, connects and durable writes are
#                      measured for it and for this build back to back (same run, same
#                      machine state) and reported side by side with the ratio
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
if [ "${BENCH_QUICK:-0}" = 1 ]; then
  DURATION=1 WARMUP=0.5 SWEEP=0.25,0.5 CONNS=2000 BCONNS=1000 HOLD=1
  FAN1_M=200 FAN2_R=10 FAN2_M=50 FAN2_S=10 DUR_R=20
fi
CHATD_FLAGS="--argon2 min --rate-per-sec 1000000 --rate-burst 1000000 --log-level warn
  --register-per-sec 1000000 --auth-fail-per-addr 1000000 --max-conns-per-user 0
  --max-hash-queue 1000000"
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

start_chatd() { # FSYNC(on|off) [BINARY]
  local bin=${2:-$CHATD} flags=$CHATD_FLAGS
  [ "$bin" != "$CHATD" ] && flags=$(flags_for "$bin")
  local d; d=$(mktemp -d "$WORK/chatd.XXXX")
  mkdir -p "$d/data" "$d/secrets"
  head -c 32 /dev/urandom | base64 > "$d/secrets/jwt_secret.txt"
  # shellcheck disable=SC2086
  "$bin" --port 0 --port-file "$d/port" --data "$d/data" --secrets "$d/secrets" \
    --fsync "$1" $flags > "$d/server.log" 2>&1 &
  SRV_PID=$!
  SRV_URL="http://127.0.0.1:$(wait_port "$d/port")"
}

start_baseline() {
  local d; d=$(mktemp -d "$WORK/baseline.XXXX")
  # shellcheck disable=SC2086
  node bench/baseline/server.js --port 0 --port-file "$d/port" $BASELINE_FLAGS > "$d/server.log" 2>&1 &
  SRV_PID=$!
  SRV_URL="http://127.0.0.1:$(wait_port "$d/port")"
}

# bench NAME ARGS... — one chat-bench run against the running server.
bench() {
  local name=$1; shift
  local pid=() url=(); [ -n "$SRV_PID" ] && pid=(--server-pid "$SRV_PID")
  [ -n "$SRV_URL" ] && url=(--url "$SRV_URL")
  echo "== $name" >&2
  printf '%s\t%s\n' "$name" "$BENCH $* --json" >> "$RES/commands.tsv"
  if ! "$BENCH" "${url[@]}" "${pid[@]}" --json "$@" > "$RES/$name.json"; then
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

start_chatd on
bench connections-chatd --scenario connections --connections "$CONNS" --hold "$HOLD"
stop_server
start_baseline
bench connections-baseline --scenario connections --connections "$BCONNS" --hold "$HOLD"
stop_server

for fs in on off; do
  start_chatd $fs
  bench "durable-fsync-$fs-chatd" --scenario durable --channels $DUR_R --members 1 \
    --senders $DUR_R --window $DUR_W --duration "$DURATION" --warmup "$WARMUP"
  stop_server
done
start_baseline
bench durable-baseline --scenario durable --channels $DUR_R --members 1 --senders $DUR_R \
  --window $DUR_W --duration "$DURATION" --warmup "$WARMUP"
stop_server

# This build against an older one, scenario by scenario, back to back.
if [ -n "${BENCH_PREVIOUS:-}" ]; then
  [ -x "$BENCH_PREVIOUS" ] || { echo "run.sh: BENCH_PREVIOUS=$BENCH_PREVIOUS is not executable" >&2; exit 1; }
  for who in prev cur; do
    bin=$CHATD; [ $who = prev ] && bin=$BENCH_PREVIOUS
    start_chatd on "$bin"
    bench "$who-fanout-1x$FAN1_M" --scenario fanout --channels 1 --members $FAN1_M \
      --senders $FAN1_S --duration "$DURATION" --warmup "$WARMUP" --sweep "" --window $FAN_W
    stop_server
    start_chatd on "$bin"
    bench "$who-fanout-${FAN2_R}x$FAN2_M" --scenario fanout --channels $FAN2_R \
      --members $FAN2_M --senders $FAN2_S --duration "$DURATION" --warmup "$WARMUP" --sweep "" \
      --window $FAN_W
    stop_server
    start_chatd on "$bin"
    bench "$who-connections" --scenario connections --connections "$BCONNS" --hold 1
    stop_server
    start_chatd on "$bin"
    bench "$who-durable" --scenario durable --channels $DUR_R --members 1 --senders $DUR_R \
      --window $DUR_W --duration "$DURATION" --warmup "$WARMUP"
    stop_server
  done
fi

# The cluster (1 api, 3 chat, 2 presence, 2 dispatcher chatd processes plus
# Redis, ZooKeeper, PostgreSQL and, for Kafka, the mock broker, all on these
# same cores): chat-bench registers through the API and dials the chat server
# /auth names for each user. The point is correctness under load.
if [ "${BENCH_CLUSTER:-1}" = 1 ]; then
  for bus in redis kafka; do
    CLUSTER_DIR=$(mktemp -u "${TMPDIR:-/tmp}/chatd-bench-cluster.XXXXXX") # not under $WORK: PostgreSQL runs as postgres
    if CHATD_CLUSTER_DIR=$CLUSTER_DIR CHATD_BUILD=$ROOT/$BUILD CHATD_CLUSTER_FLAGS="$CHATD_FLAGS" \
        scripts/cluster up --bus $bus > "$WORK/cluster-$bus.log" 2>&1; then
      SRV_URL=$(cat "$CLUSTER_DIR/api_url") SRV_PID=""
      bench "cluster-fanout-${FAN2_R}x$FAN2_M-$bus" --scenario fanout --channels $FAN2_R \
        --members $FAN2_M --senders $FAN2_S --duration "$DURATION" --warmup 3 --sweep 0.5 \
        --window $FAN_W
    else
      echo "run.sh: the $bus cluster did not start:" >&2; tail -5 "$WORK/cluster-$bus.log" >&2
      echo '{"failed": true}' > "$RES/cluster-fanout-${FAN2_R}x$FAN2_M-$bus.json"
    fi
    cluster_down
  done
fi
ELAPSED=$(( $(date +%s) - T0 ))

# ---- the report ----
echo "== writing $OUT/BENCHMARKS.md" >&2
export RES OUT ELAPSED CHATD_FLAGS BASELINE_FLAGS FDS DURATION WARMUP SWEEP HOLD
export BENCH_PREVIOUS=${BENCH_PREVIOUS:-} PREVIOUS_VERSION=${BENCH_PREVIOUS_LABEL:-$BENCH_PREVIOUS}
export FAN1="1x$FAN1_M" FAN2="${FAN2_R}x$FAN2_M"
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
