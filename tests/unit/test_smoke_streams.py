"""The smoke suite's streams (harness.streams) may run side by side: test_metrics.py serves the ServiceMonitor API
for a while, so every release outside its stream states `metrics.serviceMonitor.enabled` (harness.cluster.Release
does), and a module that runs helm installs itself runs in test_metrics.py's stream."""

import re
from pathlib import Path

import pytest

from harness.cluster import Release
from harness.streams import WITH_METRICS, stream
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


def test_every_smoke_module_has_a_stream_and_the_long_ones_are_apart():
    streams = {p.name: stream(f"tests/smoke/{p.name}::t", "kwok") for p in SMOKE}
    assert set(streams.values()) == {"chart-testing", "drills", "cluster", "cluster-b"}
    assert {f"tests/smoke/{n}" for n, s in streams.items() if s == "cluster"} == WITH_METRICS
    assert stream("tests/smoke/test_drills.py::t", "kind") == "cluster", "on kind the drills share the nodes"
    assert stream("tests/unit/test_names.py::t", "kwok") == "tests/unit/test_names.py"


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
