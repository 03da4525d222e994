"""The smoke suite without a cluster: `tox -e smoke` and scripts/test.sh fail loudly instead of reporting
every test skipped; a plain `pytest -m smoke` skips with the reason."""

import configparser
import os
import subprocess
import sys

import pytest

from harness.tools import ROOT

pytestmark = pytest.mark.unit

ONE_SMOKE_TEST = "tests/smoke/test_install.py"


def run_smoke(tmp_path, require: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "EMQX_EE_REQUIRE_CLUSTER")}
    env["EMQX_EE_STATE"] = str(tmp_path)  # no cluster.env there: no cluster
    if require:
        env["EMQX_EE_REQUIRE_CLUSTER"] = "1"
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-m", "smoke", "-q", "-x", ONE_SMOKE_TEST]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_required_cluster_missing_is_a_failure(tmp_path):
    result = run_smoke(tmp_path, require=True)
    assert result.returncode != 0 and "NO CLUSTER" in result.stdout, result.stdout[-2000:]
    assert " passed" not in result.stdout.splitlines()[-1]


def test_plain_run_skips_with_the_reason(tmp_path):
    result = run_smoke(tmp_path, require=False)
    assert result.returncode == 0 and "skipped" in result.stdout.splitlines()[-1], result.stdout[-2000:]


def test_tox_smoke_and_the_test_script_require_the_cluster():
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    assert "EMQX_EE_REQUIRE_CLUSTER = 1" in tox["testenv:smoke"]["setenv"]
    assert "EMQX_EE_REQUIRE_CLUSTER=1" in (ROOT / "scripts" / "test.sh").read_text()
