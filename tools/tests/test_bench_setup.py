"""The setup benchmark's timing and parsing (tools/bench/setup_time.py), on small real commands instead of the
README's hour-long ones. Tolerances are wide: the suite runs beside the smoke suite on a busy machine."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from bench import setup_time
from bench.common import ROOT

pytestmark = pytest.mark.unit

# A stand-in for scripts/demo.sh with scripts/lib.sh's own output functions: `step` prints its `==> ` line when a
# build starts and ends it with ` done in N s` when the build is over; `log` lines; a wait that redraws its line
# with \r as scripts/cluster.sh does; ordinary output in between.
FAKE_DEMO = f"""
source {ROOT}/scripts/lib.sh
echo "some output before the first step"; sleep 0.5
step "$LOGS/helm.log" "helm v4.3.1: building helm.sh/helm/v4/cmd/helm from the Go module proxy" sleep 1.0
echo "output after the build"; sleep 0.5
log "helm-docs v1.14.2 cached"; sleep 0.2
step "$LOGS/kwokctl.log" "kwok cluster emqx-ee: creating (Kubernetes v1.36.3, etcd v3.6.16, kwok v0.8.0)" sleep 0.4
printf '   waiting for 3 Ready nodes (0s)\\r' >&2; sleep 0.4
printf '   3 Ready nodes: ok after 1s          \\n' >&2; sleep 0.4
log "cluster ready (kwok): export KUBECONFIG=/somewhere/kubeconfig"; sleep 1.5
echo "== the demo prints its own titles"
"""


def test_steps_last_from_their_line_to_the_next(tmp_path: Path) -> None:
    env = {**os.environ, "EMQX_EE_CACHE": str(tmp_path / "cache")}
    timed = setup_time.run_streamed(["bash", "-c", FAKE_DEMO], env, tmp_path / "fake.log", cwd=tmp_path)
    assert timed.exit_code == 0
    assert [text.split()[0] for _, text in timed.steps] == ["helm", "helm-docs", "kwok", "cluster"]
    # lib.sh counts whole seconds ($SECONDS): a 1.0 s build reads 1 s or 2 s, as it crosses one tick or two
    assert re.search(r"\.\.\. done in [12] s$", timed.steps[0][1]), timed.steps
    steps = setup_time.breakdown(timed, "demo")
    assert list(steps) == ["start", "build helm", "tool checks", "cluster up", "demo"]
    expected = {"start": 0.5, "build helm": 1.5, "tool checks": 0.2, "cluster up": 1.2, "demo": 1.5}
    for name, seconds in expected.items():
        assert steps[name] == pytest.approx(seconds, abs=0.5), f"{name}: {steps}"
    assert sum(steps.values()) == pytest.approx(timed.seconds)
    log = (tmp_path / "fake.log").read_text()
    assert "s]    3 Ready nodes: ok after 1s" in log and "s] ==> kwok cluster emqx-ee: creating" in log, log


def test_a_failing_command_keeps_its_steps_and_exit_code(tmp_path: Path) -> None:
    script = f"source {ROOT}/scripts/lib.sh; log 'ruff check tests scripts'; sleep 0.3; die 'lint failed'"
    env = {**os.environ, "EMQX_EE_CACHE": str(tmp_path / "cache")}
    timed = setup_time.run_streamed(["bash", "-c", script], env, tmp_path / "fail.log", cwd=tmp_path)
    assert timed.exit_code == 1
    steps = setup_time.breakdown(timed, "test")
    assert steps["lint (ruff)"] == pytest.approx(0.3, abs=0.5)
    assert "error: lint failed" in steps  # the last line names the failure


def test_the_pytest_step_is_split_by_suite_from_the_junit_report(tmp_path: Path) -> None:
    """A real pytest session over a unit and a smoke directory, laid out as the project's tests/."""
    for suite, seconds in (("unit", 0.3), ("smoke", 0.6)):
        folder = tmp_path / "tests" / suite
        folder.mkdir(parents=True)
        (folder / f"test_{suite}.py").write_text(f"import time\n\ndef test_it():\n    time.sleep({seconds})\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = --import-mode=importlib\n")
    junit = tmp_path / "junit.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", "tests"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    steps = setup_time.split_pytest({"lint (ruff)": 2.0, "pytest": 5.0}, junit)
    assert list(steps) == ["lint (ruff)", "smoke suite", "unit suite", "collection, cluster down"]
    assert steps["unit suite"] < steps["smoke suite"]
    assert steps["unit suite"] == pytest.approx(0.3, abs=0.25)
    assert steps["smoke suite"] == pytest.approx(0.6, abs=0.25)
    assert sum(steps.values()) == pytest.approx(7.0)


def test_suites_run_side_by_side_share_the_wall_time_of_the_pytest_step(tmp_path: Path) -> None:
    """Under pytest-xdist the suites' test times overlap: they add up to more than pytest's wall time."""
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.unit.test_a" name="t" time="30"/>'
        '<testcase classname="tests.smoke.test_b" name="t" time="90"/>'
        "</testsuite></testsuites>"
    )
    steps = setup_time.split_pytest({"pytest": 60.0}, junit)
    assert steps["unit suite"] == pytest.approx(15.0) and steps["smoke suite"] == pytest.approx(45.0), steps
    assert sum(steps.values()) == pytest.approx(60.0)


def test_a_kwok_cluster_of_the_fixed_name_is_found_whatever_its_state_dir(tmp_path: Path) -> None:
    """What makes the benchmark refuse to run: a process of a kwok cluster named emqx-ee under any work directory."""
    fake = tmp_path / "elsewhere" / "kwok" / "clusters" / "emqx-ee" / "bin" / "kube-apiserver"
    proc = subprocess.Popen(["bash", "-c", f"exec -a {fake} sleep 30"])
    try:
        for _ in range(50):  # until exec has replaced bash's command line
            if any(found.startswith(f"{proc.pid} ") for found in setup_time.kwok_cluster_processes()):
                break
            subprocess.run(["sleep", "0.1"])
        else:
            pytest.fail(f"process {proc.pid} ({fake}) not found")
        up = setup_time.running_clusters(tmp_path / "state-without-kubeconfig")
        assert any("processes of kwok cluster emqx-ee" in reason for reason in up), up
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize(
    ("line", "step"),
    [
        # the `==> ` lines of scripts/build-node-tools.sh, scripts/node-image.sh and scripts/node.sh
        (
            "CNI plugins v1.10.0 (bridge loopback host-local portmap): building from the Go module proxy",
            "build CNI plugins",
        ),
        ("containerd v2.4.2: building github.com/containerd/containerd/v2/cmd/containerd", "build containerd"),
        ("image docker.io/emqx-ee-local/pause:3.10.2: building from its inputs (26ed32600b69a760)", "image pause"),
        ("image docker.io/emqx-ee-local/emqx-standin:ae96dbed91f433de: building from its inputs", "image emqx-standin"),
        ("image docker.io/emqx-ee-local/emqx-standin:ae96dbed91f433de cached", "tool checks"),
        ("real node emqx-ee-node-0: starting containerd, kubelet, kube-proxy, CoreDNS", "real node up"),
        ("real node emqx-ee-node-0 already running (10.251.19.242)", "cluster up"),
    ],
)
def test_the_real_node_steps_have_names_of_their_own(line: str, step: str) -> None:
    assert setup_time.category(line, "demo") == step
