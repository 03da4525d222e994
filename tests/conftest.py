"""Shared fixtures: which Helm CLIs to render with, and the ci/ scenarios.

The render suite reads Helm 4's renders; harness.helm has the other majors of `--helm-majors` (Helm 3) render
each of them too and compares the answers in the call (HelmDiffers). Beyond that, a test that takes `helm` runs
once per major (lint and error messages of bad values, `--kube-version`; in the smoke and publishing suites
install, pull and verify), one that takes `other_helm` once per major but 4 (compared with Helm 4). The rest
take `helm4`, `template`, `manifests` (one scenario) or `every_scenario` (a property of all of them).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import defaultdict
from typing import Any

import pytest

from harness.cluster import cluster_info
from harness.fixtures import helm_majors
from harness.helm import COMPARED_WITH, SHARED
from harness.streams import StreamScheduling, ordered, record, stream


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--helm-majors",
        default="4,3",
        help="Helm majors that tests taking the `helm` fixture run under, and that other_helm compares with "
        "Helm 4 (comma separated, default: 4,3); every other test renders with Helm 4",
    )


def pytest_configure(config: pytest.Config) -> None:
    """The majors that answer every Helm 4 render too (harness.helm.COMPARED_WITH). Under pytest-xdist, a folder
    the workers share renders in (harness.helm.SHARED): each distinct render is made once per session, not once
    per worker. Workers inherit the environment when they start."""
    COMPARED_WITH[:] = [f"helm{m}" for m in helm_majors(config) if m != 4]
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        folder = tempfile.mkdtemp(prefix="emqx-ee-renders-")
        os.environ[SHARED] = folder
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """A session that leaves Helm 3 out says so: its renders were not compared with Helm 3."""
    if 3 not in helm_majors(config):
        terminalreporter.write_line(
            f"Helm 3 left out (--helm-majors {config.getoption('--helm-majors')}): no render of this session "
            "was compared with Helm 3's",
            yellow=True,
            bold=True,
        )


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the Background jobs (harness.helm) that the selected tests' modules list in START_EARLY. Not in
    pytest-xdist workers: each collects every test but runs only its share, and would start them all."""
    if session.config.option.collectonly or hasattr(session.config, "workerinput"):
        return
    modules = {item.module.__name__: item.module for item in session.items if isinstance(item, pytest.Function)}
    for _, module in sorted(modules.items()):
        for job in getattr(module, "START_EARLY", ()):
            job.start()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In pytest-xdist workers, the longest scopes first (stable otherwise): they start at once, and the short
    modules fill the workers in around them (harness.streams). A serial run keeps the collection order, which
    leaves the Background jobs (checkov, ct lint) time to finish before the modules that read them."""
    if not hasattr(config, "workerinput"):
        return
    info = cluster_info()
    order = ordered([item.nodeid for item in items], info.runtime if info else None)
    items[:] = [items[i] for i in order]


# Seconds per module of this run, as the workers report each test's phases to the controller, and the tests
# that -k or -m left out (a module with some of its tests left out took less than it takes).
_SCOPE_SECONDS: dict[str, float] = defaultdict(float)
_DESELECTED: list[pytest.Item] = []


def pytest_deselected(items: list[pytest.Item]) -> None:
    _DESELECTED.extend(items)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _SCOPE_SECONDS[report.nodeid.split("::", 1)[0]] += report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A distributed run of whole modules (none of their tests deselected) keeps what each scope took, for the
    next run's order (harness.streams)."""
    if _SCOPE_SECONDS and not _DESELECTED and session.config.pluginmanager.hasplugin("dsession"):
        info = cluster_info()
        seconds: dict[str, float] = defaultdict(float)
        for module, spent in _SCOPE_SECONDS.items():
            seconds[stream(module, info.runtime if info else None)] += spent
        record(seconds)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With `-n N --dist loadscope` (scripts/test.sh), schedule by stream: see harness.streams."""
    if config.getoption("dist", None) != "loadscope":
        return None
    info = cluster_info()
    return StreamScheduling(config, log, info.runtime if info else None)


# The render fixtures (helm, other_helm, helm4, template, manifests, scenario, every_scenario).
from harness.fixtures import every_scenario, helm4, manifests, pytest_generate_tests, template  # noqa: E402, F401
