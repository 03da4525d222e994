"""chart-testing's `ct lint` (Chart.yaml schema, yamllint, helm lint per ci/ scenario) passes offline."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.tools import ROOT, tool

pytestmark = pytest.mark.unit


def test_ct_lint_passes():
    # ct runs helm, yamllint and yamale from PATH: the cached helm and this venv's tools.
    path = os.pathsep.join([str(Path(tool("helm")).parent), str(Path(sys.executable).parent), os.environ["PATH"]])
    proc = subprocess.run(
        [tool("ct"), "lint", "--config", "ct.yaml", "--charts", "charts/emqx-ee"],
        cwd=ROOT,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "All charts linted successfully" in proc.stdout
