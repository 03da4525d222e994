#!/usr/bin/env bash
# The main job: bring up the local cluster (kind with Docker, kwok otherwise), install the chart with three
# EMQX nodes and walk through the StatefulSet course lesson by lesson (scripts/demo.py; arguments are passed
# through: --list, --lesson NAME, --step, --namespace NS). The cluster stays up afterwards for you to
# explore; scripts/cluster.sh down removes it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
PY="$CACHE/venv/bin/python"
# demo.py uses the test harness (tests/harness) for the cluster, the pods and the volume pool.
export PYTHONPATH="$ROOT/tests"
# Once the tools exist (cluster.sh up builds them on a fresh machine): answer --list and --help, and refuse
# bad arguments, before spending time on the cluster.
if [[ -x $PY ]]; then
  case " $* " in
    *" --list "* | *" -h "* | *" --help "*) exec "$PY" "$ROOT/scripts/demo.py" "$@" ;;
  esac
  "$PY" "$ROOT/scripts/demo.py" --list "$@" >/dev/null
fi
"$ROOT/scripts/cluster.sh" up
exec "$PY" "$ROOT/scripts/demo.py" "$@"
