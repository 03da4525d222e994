#!/usr/bin/env bash
# The whole test suite from a clean clone on a fresh machine: builds or reuses the pinned tools,
# brings up the local cluster, lints the harness, then runs the smoke (cluster), render and publishing
# suites in one pytest run over eight workers. Extra arguments go to pytest (e.g. -m unit, -k storage).
# A cluster this script starts is removed at the end; set KEEP_CLUSTER=1 to keep it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# The test tools first (helm 3, the batch programs, chart-testing, the analysers, the publishing servers);
# cluster.sh up adds the cluster's.
"$ROOT/scripts/bootstrap.sh"
already_up=no
"$ROOT/scripts/cluster.sh" status >/dev/null 2>&1 && already_up=yes
"$ROOT/scripts/cluster.sh" up
if [[ $already_up == no && ${KEEP_CLUSTER:-0} != 1 ]]; then
  trap '"$ROOT/scripts/cluster.sh" down' EXIT
  export EMQX_EE_DISPOSABLE_CLUSTER=1  # the smoke suite leaves its namespaces to go down with the cluster
fi

log "ruff check tests scripts tools"
"$CACHE/venv/bin/ruff" check --config "$ROOT/tests/ruff.toml" "$ROOT/tests" "$ROOT/scripts" "$ROOT/tools"
# Eight workers (pytest-xdist), a module at a time each, the longest first (tests/harness/streams.py says what
# may run side by side). Smoke modules mostly wait for controllers and the real node's pods: with four workers
# a quarter of both cores stayed idle (docs/benchmarks.md).
log "pytest (smoke, render and publishing suites, 8 workers)"
cd "$ROOT"
# Compiled bytecode, and pytest's assertion rewrites, kept in the tool cache for the next run: each of the nine
# pytest processes would otherwise rewrite every test module again (about a second each).
unset PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX="$CACHE/pycache"
EMQX_EE_REQUIRE_CLUSTER=1 "$CACHE/venv/bin/pytest" -n 8 --dist loadscope --durations=10 "$@"
