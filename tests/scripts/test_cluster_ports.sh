#!/usr/bin/env bash
# test_cluster_ports: two clusters on one machine never share an engine.
# scripts/cluster draws a free port for Redis, ZooKeeper and PostgreSQL and
# then starts the engine on it; a cluster started beside it (the test suite
# runs one per bus) can take the port in between. The engine that loses the
# bind exits, and a readiness probe alone then reaches the winner: a chat
# cluster silently wrote into the other cluster's PostgreSQL until that one
# went down ("the database system is shutting down", CI). Here cluster B is
# made to draw each of cluster A's engine ports first (a python3 on PATH
# answers the draw); B must come up on engines of its own and keep working
# after A is gone.
set -u
. "$(dirname "$0")/lib.sh"
cd "$T_ROOT"
dir=$(mktemp -d "${TMPDIR:-/tmp}/chatd-ports.XXXXXX")
chmod 755 "$dir"
export CHATD_BUILD=$T_ROOT/$BUILD
[ -n "${CHATD_BIN:-}" ] && CHATD_BUILD=$(dirname "$CHATD_BIN")
cleanup() {
  CHATD_CLUSTER_DIR=$dir/b scripts/cluster down > /dev/null 2>&1
  CHATD_CLUSTER_DIR=$dir/a scripts/cluster down > /dev/null 2>&1
  rm -rf "$dir"
}
trap cleanup EXIT

# The draw: scripts/cluster asks `python3 -c '...getsockname...'`. Once per
# engine, when B is about to draw that engine's port, answer A's instead.
real_python=$(command -v python3)
mkdir -p "$dir/bin"
cat > "$dir/bin/python3" <<EOF
#!/usr/bin/env bash
B=$dir/b
up() { [ -s "\$B/pids/\$1" ] && kill -0 "\$(cat "\$B/pids/\$1")" 2>/dev/null; }
rival() { # rival ENGINE: A's port for ENGINE, once
  [ -e "$dir/drawn.\$1" ] && return 1
  touch "$dir/drawn.\$1"; cat "$dir/a/ports/\$1"
}
case "\$*" in *getsockname*)
  if ! up redis; then rival redis && exit 0
  elif ! up zookeeper; then rival zookeeper && exit 0
  elif ! up postgres; then rival postgres && exit 0; fi ;;
esac
exec "$real_python" "\$@"
EOF
chmod +x "$dir/bin/python3"

a_up() { CHATD_CLUSTER_DIR=$dir/a scripts/cluster up > "$dir/a.log" 2>&1 || { cat "$dir/a.log"; return 1; }; }
b_up() {
  PATH="$dir/bin:$PATH" CHATD_CLUSTER_DIR=$dir/b scripts/cluster up > "$dir/b.log" 2>&1 ||
    { cat "$dir/b.log"; return 1; }
}
# every rival port was offered to B, and B runs each engine on another one
own_ports() {
  local e
  for e in redis zookeeper postgres; do
    [ -e "$dir/drawn.$e" ] || { echo "B never drew $e's port"; return 1; }
    [ "$(cat "$dir/a/ports/$e")" != "$(cat "$dir/b/ports/$e")" ] ||
      { echo "B's $e is on A's port $(cat "$dir/a/ports/$e")"; return 1; }
  done
}
a_down() { CHATD_CLUSTER_DIR=$dir/a scripts/cluster down > /dev/null; }
# B's PostgreSQL and its API still answer: an account registers
b_works() {
  pg_isready -q -h 127.0.0.1 -p "$(cat "$dir/b/ports/postgres")" || { echo "B's PostgreSQL is gone"; return 1; }
  local api code
  api=$(cat "$dir/b/api_url")
  code=$(curl -s -o "$dir/reg.json" -w '%{http_code}' -H 'Content-Type: application/json' \
    -d '{"username":"portcheck","password":"portcheck-pass-1"}' "$api/register")
  [ "$code" = 201 ] || { echo "register: HTTP $code $(cat "$dir/reg.json")"; return 1; }
}

check "cluster A up" a_up
check "cluster B up while drawing A's ports" b_up
check "B's engines are its own" own_ports
check "A down" a_down
check "B works without A" b_works
summary
