"""The scopes that pytest-xdist runs side by side (harness.streams): test_metrics.py serves the ServiceMonitor API
for a while, so every release outside its scope states `metrics.serviceMonitor.enabled` (harness.cluster.Release
does), and a module that runs helm installs itself shares test_metrics.py's scope."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cluster import Release
from harness.streams import WITH_METRICS, ordered, record, recorded, stream
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


NODEIDS = [
    "tests/unit/test_names.py::a",
    "tests/smoke/test_storage.py::a",
    "tests/smoke/test_demo.py::a",
    "tests/unit/test_names.py::b",
    "tests/smoke/test_drills.py::a",
    "tests/smoke/test_metrics.py::a",
]


def test_the_longest_scopes_go_first_and_collection_order_holds_otherwise():
    seconds = {"tests/smoke/test_drills.py": 80.0, "cluster": 50.0, "tests/unit/test_names.py": 1.0}
    assert [NODEIDS[i] for i in ordered(NODEIDS, "kwok", seconds)] == [
        "tests/smoke/test_drills.py::a",
        "tests/smoke/test_demo.py::a",
        "tests/smoke/test_metrics.py::a",
        "tests/unit/test_names.py::a",
        "tests/unit/test_names.py::b",
        "tests/smoke/test_storage.py::a",
    ]


def test_without_a_record_the_smoke_modules_go_first_in_collection_order():
    assert [NODEIDS[i] for i in ordered(NODEIDS, "kwok", {})] == [
        "tests/smoke/test_storage.py::a",
        "tests/smoke/test_demo.py::a",
        "tests/smoke/test_drills.py::a",
        "tests/smoke/test_metrics.py::a",
        "tests/unit/test_names.py::a",
        "tests/unit/test_names.py::b",
    ]


def test_a_run_records_its_scopes_over_the_last_record_and_drops_the_gone(tmp_path: Path):
    assert recorded(tmp_path) == {}, "no record yet"
    record({"tests/smoke/test_drills.py": 80.004, "tests/smoke/test_gone.py": 9.0, "cluster": 50.0}, tmp_path)
    assert recorded(tmp_path) == {"tests/smoke/test_drills.py": 80.0, "tests/smoke/test_gone.py": 9.0, "cluster": 50.0}
    record({"tests/unit/test_names.py": 2.0, "cluster": 40.0}, tmp_path)
    assert recorded(tmp_path) == {"tests/smoke/test_drills.py": 80.0, "cluster": 40.0, "tests/unit/test_names.py": 2.0}
    (tmp_path / "scope-seconds.json").write_text("not json")
    assert recorded(tmp_path) == {}, "an unreadable record is none"


def test_the_session_records_what_each_scope_took(tmp_path: Path):
    """A distributed run writes the record of its scopes (two modules that need no tool of the cache)."""
    env = {**os.environ, "EMQX_EE_CACHE": str(tmp_path)}
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "2", "--dist", "loadscope"]
    modules = ["tests/unit/test_values_schema_source.py", "tools/tests/test_emqx_schema_data.py"]
    done = subprocess.run(cmd + modules, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(recorded(tmp_path)) == set(modules)
    assert all(v > 0 for v in recorded(tmp_path).values())


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
