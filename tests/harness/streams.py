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
render and publishing modules fill in around the smoke suite's long ones at the end.

xdist's own `loadgroup` mode cannot express this with pytest 9 (it renames node ids, which pytest 9 no
longer lets a plugin do), so the scheduler below is xdist's `loadscope` with these scopes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from xdist.scheduler import LoadScopeScheduling

WITH_METRICS = {
    "tests/smoke/test_metrics.py",
    "tests/smoke/test_demo.py",
    "tests/smoke/test_install_from_repository.py",
}
# Rough seconds of the scopes over ten seconds on two busy cores: only the order they give is used.
SECONDS = {
    "tests/smoke/test_drills.py": 85,
    "tests/smoke/test_real_node_drain.py": 80,
    "tests/smoke/test_chart_testing.py": 70,
    "tests/smoke/test_upgrade_guards.py": 55,
    "cluster": 55,
    "tests/smoke/test_real_node_chart.py": 45,
    "tests/smoke/test_switchover.py": 28,
    "tests/smoke/test_replicants.py": 27,
    "tests/smoke/test_rollback.py": 45,
    "tests/unit/test_drain_script.py": 24,
    "tests/smoke/test_upgrade_values.py": 25,
    "tests/unit/test_emqx_standin.py": 20,
    "tests/smoke/test_ordering.py": 25,
    "tests/smoke/test_helm_test.py": 48,
    "tests/smoke/test_config_check.py": 30,
    "tests/smoke/test_lifecycle.py": 18,
    "tests/smoke/test_drain_upgrades.py": 15,
    "tests/smoke/test_batch_rolls.py": 15,
    "tests/smoke/test_upgrade_from_release.py": 13,
    "tests/unit/test_static_analysis.py": 13,
    "tests/publish/test_version_increment.py": 12,
    "tests/smoke/test_gitops.py": 12,
    "tests/smoke/test_discovery.py": 11,
    "tests/smoke/test_tls.py": 10,
}


def stream(nodeid: str, runtime: str | None) -> str:
    """The scope of a test: "cluster" for the modules that must run one after another, else its module."""
    path = nodeid.split("::", 1)[0]
    if path in WITH_METRICS or (path == "tests/smoke/test_drills.py" and runtime != "kwok"):
        return "cluster"
    return path


def ordered(nodeids: Sequence[str], runtime: str | None) -> list[int]:
    """Indexes of `nodeids` with the longest scopes first, in collection order otherwise."""
    return sorted(range(len(nodeids)), key=lambda i: -SECONDS.get(stream(nodeids[i], runtime), 0))


class StreamScheduling(LoadScopeScheduling):
    """xdist's loadscope scheduling with these scopes, in the order of `ordered` (conftest sorts the items)."""

    def __init__(self, config: Any, log: Any, runtime: str | None):
        config.option.loadscopereorder = False  # keep collection order: conftest puts the long scopes first
        super().__init__(config, log)
        self.runtime = runtime

    def _split_scope(self, nodeid: str) -> str:
        return stream(nodeid, self.runtime)
