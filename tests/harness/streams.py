"""Which tests run side by side when pytest-xdist spreads the suite over workers (scripts/test.sh: `-n 3`).

The smoke suite shares one cluster, so it runs in streams: ct install (its own namespace), the drills
(nodes of their own, on kwok), and every other smoke test one after another, in file order, because some
change what the whole cluster serves for a while (test_metrics.py's ServiceMonitor API changes what Helm
renders for every release). The render and publishing suites go a module at a time, so that each module's
fixtures run once. A stream or module runs on one worker; different ones run at the same time.

xdist's own `loadgroup` mode cannot express this with pytest 9 (it renames node ids, which pytest 9 no
longer lets a plugin do), so the scheduler below is xdist's `loadscope` with these scopes.
"""

from __future__ import annotations

from typing import Any

from xdist.scheduler import LoadScopeScheduling

SIDE_STREAMS = {"tests/smoke/test_chart_testing.py": "chart-testing", "tests/smoke/test_drills.py": "drills"}


def stream(nodeid: str, runtime: str | None) -> str:
    """The stream of a test: a smoke stream name, or the module path of any other test."""
    path = nodeid.split("::", 1)[0]
    if not path.startswith("tests/smoke/"):
        return path
    name = SIDE_STREAMS.get(path, "cluster")
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
