#!/usr/bin/env bash
# The main job: bring up the local cluster (kind with Docker, kwok otherwise), install the chart
# with three EMQX nodes and walk through stable identity, ordered scaling and per-pod storage.
# The cluster stays up afterwards for you to explore; scripts/cluster.sh down removes it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/cluster.sh" up
exec "$CACHE/venv/bin/python" "$ROOT/scripts/demo.py"
