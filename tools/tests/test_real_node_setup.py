"""Where the real node cannot run, scripts/node.sh says why in one line, exits 0 (the kwok cluster goes on
without it) and records NODE_STATUS=down with the reason in $STATE/real-node.env; the smoke tests of the node
then fail with that reason instead of skipping. Here the node's tools are missing (a scratch tool cache), so
nothing is started and the host is not touched."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.tools import ROOT

pytestmark = pytest.mark.unit


def env(tmp_path: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("EMQX_EE_", "KUBECONFIG"))},
        "EMQX_EE_STATE": str(tmp_path / "state"),
        "EMQX_EE_CACHE": str(tmp_path / "cache"),
    }


def plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@pytest.fixture
def not_up(tmp_path: Path) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    (tmp_path / "state").mkdir()
    proc = subprocess.run(
        [str(ROOT / "scripts" / "node.sh"), "up"], env=env(tmp_path), capture_output=True, text=True, timeout=60
    )
    status = dict(line.split("=", 1) for line in (tmp_path / "state" / "real-node.env").read_text().splitlines())
    return proc, status


def test_up_without_the_tools_says_why_in_one_line_and_goes_on(not_up):
    proc, status = not_up
    assert proc.returncode == 0, proc.stderr
    lines = plain(proc.stderr).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("==> real node: not started: "), proc.stderr
    reason = status["NODE_REASON"]
    assert os.geteuid() != 0 or "is not built (scripts/build-node-tools.sh)" in reason, reason
    assert status["NODE_STATUS"] == "down" and reason in lines[0]


def test_the_node_smoke_tests_fail_with_the_recorded_reason(not_up, tmp_path):
    _, status = not_up
    state = tmp_path / "state"
    (state / "cluster.env").write_text(f"CLUSTER_RUNTIME=kwok\nKUBECONFIG={state / 'kubeconfig'}\nDNS_SERVER=\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "-rA",
            "tests/smoke/test_real_node.py",
        ],
        cwd=ROOT,
        env=env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "skipped" not in out.splitlines()[-1], f"the node's tests must not skip:\n{out}"
    assert f"the real node is not up: {status['NODE_REASON']}" in out, out
