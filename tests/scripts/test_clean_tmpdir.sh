#!/usr/bin/env bash
# tier: check
# test_clean_tmpdir: tests may depend on nothing the machine happens to
# have. Every temporary path comes from $TMPDIR (mkdtemp under it), so the
# tests that make temp dirs pass from a brand-new, empty TMPDIR and leave it
# empty; and no test, script or benchmark names a fixed path under /tmp.
set -u
. "$(dirname "$0")/lib.sh"
cd "$T_ROOT"

no_fixed_tmp_paths() {
  # Allowed: the documented default of TMPDIR itself.
  local hits
  hits=$(grep -rnE '"/tmp/|[ =(]/tmp/' tests scripts bench Makefile \
           --include='*.c' --include='*.h' --include='*.sh' --include='*.js' --include='*.mjs' \
           --include=Makefile --include=cluster --include=run.sh 2>/dev/null |
         grep -v 'TMPDIR' | grep -v '^tests/scripts/test_clean_tmpdir.sh' || true)
  [ -z "$hits" ] || { echo "fixed /tmp paths (use \$TMPDIR / svc_mkdtemp):"; echo "$hits"; return 1; }
}

runs_from_empty_tmpdir() {
  local bin=$1 fresh
  fresh=$(mktemp -d "${TMPDIR:-/tmp}/clean.XXXXXX") || return 1
  chmod 755 "$fresh"
  TMPDIR="$fresh/sub" # does not even exist yet: the test must not need it either way
  mkdir "$TMPDIR"
  chmod 755 "$TMPDIR"
  TMPDIR="$TMPDIR" "$BUILD/tests/unit/$bin" > "$fresh/out.log" 2>&1
  local rc=$?
  local left
  left=$(ls -A "$fresh/sub")
  if [ $rc -ne 0 ]; then cat "$fresh/out.log"; rm -rf "$fresh"; return 1; fi
  rm -rf "$fresh"
  [ -z "$left" ] || { echo "$bin left behind in TMPDIR: $left"; return 1; }
}

check "no fixed /tmp paths in tests, scripts, bench" no_fixed_tmp_paths
check "test_secret from an empty TMPDIR" runs_from_empty_tmpdir test_secret
check "test_store from an empty TMPDIR" runs_from_empty_tmpdir test_store
summary
