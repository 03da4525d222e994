#!/usr/bin/env bash
# Benchmarks with tables and figures: scripts/bench.sh render|rollout|setup|all [options], or report DIR.
# `scripts/bench.sh --help` lists the options. Results (results.md, results.json, PNGs, bench.log) go to a new
# folder under $CACHE/bench/results, or to --out DIR (e.g. docs/bench, which docs/benchmarks.md shows).
# The measuring runs in the project venv (scripts/bootstrap.sh builds it with the tools); the figures are drawn in
# a venv of their own, made here from tools/bench/requirements.txt, so matplotlib stays out of the test venv.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[[ -x "$CACHE/venv/bin/python" && -x "$BIN/helm" ]] || die "no tools in $CACHE: run scripts/bootstrap.sh first"

venv="$CACHE/venv-bench" req="$ROOT/tools/bench/requirements.txt"
want=$(sha256sum "$req" | cut -c1-16)
if [[ ! -x "$venv/bin/python" || "$(cat "$venv/.requirements" 2>/dev/null)" != "$want" ]]; then
  step "$LOGS/venv-bench-$want.log" "benchmark venv: installing tools/bench/requirements.txt (matplotlib) into $venv" \
    make_venv "$venv" "$req"
  echo "$want" >"$venv/.requirements"
fi

export BENCH_PYTHON="$venv/bin/python"
# The harness (tests/) and this package (tools/) are importable through PYTHONPATH.
PYTHONPATH="$ROOT/tests:$ROOT/tools" exec "$CACHE/venv/bin/python" -m bench.bench "$@"
