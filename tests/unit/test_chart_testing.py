"""chart-testing's `ct lint` (Chart.yaml schema, yamllint, `helm lint --strict` per ci/ scenario) passes offline.

ct lints every scenario with the cached Helm 4, so test_render_and_lint lints them again with the other
majors only. ct takes seconds: it runs in the background from the start of the session (START_EARLY)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.helm import Background, go_env
from harness.scenarios import scenarios
from harness.tools import ROOT, tool

pytestmark = pytest.mark.unit


def ct_lint() -> subprocess.CompletedProcess:
    # ct runs helm, yamllint and yamale from PATH: the cached helm and this venv's tools.
    path = os.pathsep.join([str(Path(tool("helm")).parent), str(Path(sys.executable).parent), os.environ["PATH"]])
    return subprocess.run(
        [tool("ct"), "lint", "--config", "ct.yaml", "--charts", "charts/emqx-ee", "--debug"]
        + ["--helm-lint-extra-args", "--strict"],  # --debug prints each command it runs
        cwd=ROOT,
        env={**go_env(), "PATH": path},
        capture_output=True,
        text=True,
        timeout=300,
    )


CT_LINT = Background(ct_lint)
START_EARLY = [CT_LINT]


def test_ct_lint_passes():
    proc = CT_LINT.result()
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "All charts linted successfully" in proc.stdout
    for scenario in scenarios():
        ran = f">>> helm lint charts/emqx-ee --values charts/emqx-ee/ci/{scenario.path.name} --strict"
        assert ran in proc.stdout, f"ct did not lint {scenario.name} with --strict"
