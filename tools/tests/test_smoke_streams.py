"""The scopes that pytest-xdist runs side by side (harness.streams): test_metrics.py serves the ServiceMonitor API
for a while, so every release outside its scope states `metrics.serviceMonitor.enabled` (harness.cluster.Release
does), and a module that runs helm installs itself shares test_metrics.py's scope."""

import re
from pathlib import Path

import pytest

from harness.cluster import Release
from harness.streams import SECONDS, WITH_METRICS, ordered, stream
from harness.tools import CHART, ROOT, helm

pytestmark = pytest.mark.unit

SMOKE = sorted((ROOT / "tests" / "smoke").glob("test_*.py"))


def test_modules_that_install_by_themselves_run_with_test_metrics():
    """Release states the ServiceMonitor setting; a module that runs `helm install` or the demo itself does not."""
    own_installs = [p for p in SMOKE if re.search(r'"install"|"upgrade"|demo\.py', p.read_text())]
    assert own_installs, "the scan finds the modules that install by themselves"
    for path in own_installs:
        node = f"tests/smoke/{path.name}::test"
        assert stream(node, "kwok") == stream("tests/smoke/test_metrics.py::test", "kwok"), path.name


def test_only_the_modules_with_test_metrics_share_a_scope():
    scopes = {p.name: stream(f"tests/smoke/{p.name}::t", "kwok") for p in SMOKE}
    assert {f"tests/smoke/{n}" for n, s in scopes.items() if s == "cluster"} == WITH_METRICS
    assert all(s == f"tests/smoke/{n}" for n, s in scopes.items() if s != "cluster"), "the rest: a module each"
    assert stream("tests/smoke/test_drills.py::t", "kind") == "cluster", "on kind the drills share the nodes"
    assert stream("tests/unit/test_names.py::t", "kwok") == "tests/unit/test_names.py"


def test_the_longest_scopes_go_first_and_collection_order_holds_otherwise():
    for scope in SECONDS:
        assert scope == "cluster" or (ROOT / scope).is_file(), f"SECONDS names {scope}, which does not exist"
    nodeids = [
        "tests/unit/test_names.py::a",
        "tests/smoke/test_storage.py::a",
        "tests/smoke/test_demo.py::a",
        "tests/unit/test_names.py::b",
        "tests/smoke/test_drills.py::a",
        "tests/smoke/test_metrics.py::a",
    ]
    assert [nodeids[i] for i in ordered(nodeids, "kwok")] == [
        "tests/smoke/test_drills.py::a",
        "tests/smoke/test_demo.py::a",
        "tests/smoke/test_metrics.py::a",
        "tests/unit/test_names.py::a",
        "tests/smoke/test_storage.py::a",
        "tests/unit/test_names.py::b",
    ]


def release(detect: bool = False) -> Release:
    return Release(helm(4), "unused-kubeconfig", "ns", detect_service_monitor=detect)


def test_releases_state_no_service_monitor_under_their_own_values():
    assert release()._values({}, CHART) == {"metrics": {"serviceMonitor": {"enabled": False}}}
    ours = {"metrics": {"serviceMonitor": {"interval": "60s"}, "basicAuth": None}, "replicaCount": 2}
    assert release()._values(ours, CHART) == {
        "metrics": {"serviceMonitor": {"enabled": False, "interval": "60s"}, "basicAuth": None},
        "replicaCount": 2,
    }, "a null stays for Helm to remove the default"
    assert release()._values({"metrics": {"serviceMonitor": {"enabled": True}}}, CHART)["metrics"] == {
        "serviceMonitor": {"enabled": True}
    }
    assert release(detect=True)._values({}, CHART) == {}, "test_metrics.py leaves it to the cluster's APIs"


def test_charts_without_the_setting_get_the_values_unchanged(tmp_path: Path):
    """Released versions 0.1.0 and 0.2.0 have no ServiceMonitor; their schema would refuse the key."""
    old = tmp_path / "old"
    old.mkdir()
    (old / "values.yaml").write_text("metrics:\n  enabled: false\n")
    assert release()._values({"replicaCount": 1}, old) == {"replicaCount": 1}
