"""Which tests run side by side when pytest-xdist spreads the suite over workers (scripts/test.sh: `-n 4`).

The smoke suite shares one cluster, so it runs in streams: ct install (its own namespace), the drills
(nodes of their own, on kwok), and the other smoke modules in two streams. test_metrics.py serves the
ServiceMonitor API for a while, which changes what Helm renders for a release that leaves
`metrics.serviceMonitor.enabled` to the chart: the releases of harness.cluster.Release and ct's state it, so
only the modules that run helm as a user types it (the demo, the install from a repository) go one after
another with test_metrics.py, in the "cluster" stream; the rest run beside it in "cluster-b". The render and
publishing suites go a module at a time, so that each module's fixtures run once. A stream or module runs on
one worker; different ones run at the same time.

xdist's own `loadgroup` mode cannot express this with pytest 9 (it renames node ids, which pytest 9 no
longer lets a plugin do), so the scheduler below is xdist's `loadscope` with these scopes.
"""

from __future__ import annotations

from typing import Any

from xdist.scheduler import LoadScopeScheduling

SIDE_STREAMS = {"tests/smoke/test_chart_testing.py": "chart-testing", "tests/smoke/test_drills.py": "drills"}
# With test_metrics.py: modules whose installs leave the ServiceMonitor to the cluster's APIs, and, to even the
# two streams out (about three minutes each), two long modules of Release installs.
WITH_METRICS = {
    "tests/smoke/test_metrics.py",
    "tests/smoke/test_demo.py",
    "tests/smoke/test_install_from_repository.py",
    "tests/smoke/test_upgrade_guards.py",
    "tests/smoke/test_helm_test.py",
}


def stream(nodeid: str, runtime: str | None) -> str:
    """The stream of a test: a smoke stream name, or the module path of any other test."""
    path = nodeid.split("::", 1)[0]
    if not path.startswith("tests/smoke/"):
        return path
    name = SIDE_STREAMS.get(path) or ("cluster" if path in WITH_METRICS else "cluster-b")
    if name == "drills" and runtime != "kwok":
        return "cluster"  # on kind the drills act on the nodes every other test uses
    return name


class StreamScheduling(LoadScopeScheduling):
    """xdist's loadscope scheduling, with streams for scopes, in collection order (smoke first)."""

    def __init__(self, config: Any, log: Any, runtime: str | None):
        config.option.loadscopereorder = False  # keep collection order: the long smoke streams start first
        super().__init__(config, log)
        self.runtime = runtime

    def _split_scope(self, nodeid: str) -> str:
        return stream(nodeid, self.runtime)
