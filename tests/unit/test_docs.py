"""The chart README's parameter table is generated from values.yaml (helm-docs) and is not stale."""

import subprocess

import pytest

from harness.tools import CHART, ROOT

pytestmark = pytest.mark.unit


def test_chart_readme_matches_values_yaml():
    # scripts/docs.sh runs the pinned helm-docs from the tool cache (scripts/bootstrap.sh builds it).
    proc = subprocess.run(
        [str(ROOT / "scripts" / "docs.sh"), "--dry-run"], capture_output=True, text=True, timeout=120, check=True
    )
    assert proc.stdout == (CHART / "README.md").read_text(), "charts/emqx-ee/README.md is stale: run scripts/docs.sh"
