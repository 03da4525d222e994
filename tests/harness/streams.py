"""Which tests run side by side when pytest-xdist spreads the suite over workers (scripts/test.sh: `-n 8`).

A scope (xdist's unit of work) runs on one worker, its tests in order; different scopes run at the same time.
Every module is a scope of its own, so that its fixtures run once, with two exceptions in the smoke suite:
- test_metrics.py serves the ServiceMonitor API for a while, which changes what Helm renders for a release
  that leaves `metrics.serviceMonitor.enabled` to the chart. harness.cluster.Release and ct state it, so only
  the modules that run helm as a user types it (the demo, the install from a repository) must run one after
  another with test_metrics.py: the three form the "cluster" scope.
- On kind, the drills act on the nodes every other test uses, so they join that scope too. On kwok they have
  nodes of their own.

A worker takes the next scope when it runs low, in the order of `ordered`: the longest first, so that the short
modules fill in around the long ones at the end. How long each scope takes is what the last distributed run
measured (`record`, kept in the tool cache beside the pinned tools); with no record yet, the smoke modules,
which wait on the cluster, go first.

xdist's own `loadgroup` mode cannot express this with pytest 9 (it renames node ids, which pytest 9 no
longer lets a plugin do), so the scheduler below is xdist's `loadscope` with these scopes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xdist.scheduler import LoadScopeScheduling

from .tools import ROOT, cache_dir

WITH_METRICS = {
    "tests/smoke/test_metrics.py",
    "tests/smoke/test_demo.py",
    "tests/smoke/test_install_from_repository.py",
}
# The seconds each scope took in the last distributed run (setup, call and teardown of its tests), by scope.
RECORD = "scope-seconds.json"


def recorded(cache: Path | None = None) -> dict[str, float]:
    """The seconds per scope of the last record, or nothing when there is none (or it cannot be read)."""
    try:
        found = json.loads(((cache or cache_dir()) / RECORD).read_text())
    except (OSError, ValueError):
        return {}
    return {k: float(v) for k, v in found.items()} if isinstance(found, dict) else {}


def record(seconds: dict[str, float], cache: Path | None = None) -> None:
    """Keep `seconds` (per scope, of the run that ends) over the last record: scopes this run did not run keep
    their old figure, scopes that no longer exist go."""
    path = (cache or cache_dir()) / RECORD
    kept = {k: v for k, v in recorded(cache).items() if k == "cluster" or (ROOT / k).is_file()}
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(f".{os.getpid()}.part")
    part.write_text(json.dumps(kept | {k: round(v, 2) for k, v in seconds.items()}, indent=1, sort_keys=True))
    part.replace(path)


def stream(nodeid: str, runtime: str | None) -> str:
    """The scope of a test: "cluster" for the modules that must run one after another, else its module."""
    path = nodeid.split("::", 1)[0]
    if path in WITH_METRICS or (path == "tests/smoke/test_drills.py" and runtime != "kwok"):
        return "cluster"
    return path


def ordered(nodeids: Sequence[str], runtime: str | None, seconds: dict[str, float] | None = None) -> list[int]:
    """Indexes of `nodeids` with the longest scopes first (`seconds`, by default the last record), in collection
    order otherwise; without a record, the smoke modules first."""
    seconds = recorded() if seconds is None else seconds

    def key(i: int) -> tuple[float, bool]:
        scope = stream(nodeids[i], runtime)
        return -seconds.get(scope, 0), not (scope == "cluster" or scope.startswith("tests/smoke/"))

    return sorted(range(len(nodeids)), key=key)


class StreamScheduling(LoadScopeScheduling):
    """xdist's loadscope scheduling with these scopes, in the order of `ordered` (conftest sorts the items)."""

    def __init__(self, config: Any, log: Any, runtime: str | None):
        config.option.loadscopereorder = False  # keep collection order: conftest puts the long scopes first
        super().__init__(config, log)
        self.runtime = runtime

    def _split_scope(self, nodeid: str) -> str:
        return stream(nodeid, self.runtime)
