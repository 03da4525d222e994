"""chart-testing's version-increment check, as CI runs it: in a clone whose `origin/<branch>` is the
previous commit, a chart change that keeps Chart.yaml's `version` fails `ct lint` naming the version, and
the same change with a bumped version passes. ct.yaml cannot do this (it names the chart, which turns ct's
version check off), so the check uses scripts/ct/version-increment.yaml."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.tools import ROOT, tool

pytestmark = pytest.mark.publish

CONFIG = ROOT / "scripts" / "ct" / "version-increment.yaml"


def git(clone: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(clone), *args], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A clone of the repository's last commit; origin/<branch> is what ct compares against (offline)."""
    target = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True, timeout=120)
    git(target, "config", "user.email", "test@example.invalid")
    git(target, "config", "user.name", "version increment test")
    return target


def ct_lint(clone: Path) -> subprocess.CompletedProcess:
    branch = git(clone, "rev-parse", "--abbrev-ref", "HEAD")
    path = os.pathsep.join([str(Path(tool("helm")).parent), str(Path(sys.executable).parent), os.environ["PATH"]])
    return subprocess.run(
        [tool("ct"), "lint", "--config", str(CONFIG), "--remote", "origin", "--target-branch", branch],
        cwd=clone,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=300,
    )


def change_template(clone: Path) -> None:
    notes = clone / "charts" / "emqx-ee" / "templates" / "NOTES.txt"
    notes.write_text(notes.read_text() + "\n")
    git(clone, "commit", "--quiet", "-am", "chart change")


def chart_version(clone: Path) -> str:
    return re.search(r"^version: (\S+)$", (clone / "charts/emqx-ee/Chart.yaml").read_text(), re.M).group(1)


def test_chart_change_without_version_bump_fails(clone):
    change_template(clone)
    proc = ct_lint(clone)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, f"ct lint accepted a chart change without a version bump:\n{out[-2000:]}"
    assert "Needs a version bump" in out, out[-2000:]
    version = chart_version(clone)
    assert f"Old chart version: {version}" in out and f"New chart version: {version}" in out, out[-2000:]


def test_chart_change_with_version_bump_passes(clone):
    """The clone keeps one ci/ scenario: after the version check, ct lints the chart with every scenario, which
    test_ct_lint_passes already does for this commit (17 more helm lints and yamllints here, 5 core-seconds)."""
    scenarios = sorted((clone / "charts" / "emqx-ee" / "ci").glob("*-values.yaml"))
    git(clone, "rm", "--quiet", *[str(p) for p in scenarios[1:]])
    change_template(clone)
    chart_yaml = clone / "charts" / "emqx-ee" / "Chart.yaml"
    major, minor, patch = chart_version(clone).split(".")
    bumped = f"{major}.{minor}.{int(patch) + 1}"
    chart_yaml.write_text(re.sub(r"^version: \S+$", f"version: {bumped}", chart_yaml.read_text(), flags=re.M))
    git(clone, "commit", "--quiet", "-am", "bump")
    proc = ct_lint(clone)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "Chart version ok." in out and "All charts linted successfully" in out, out[-2000:]
    linted = re.findall(r'Linting chart with values file "(.*)"', out)
    assert linted == [str(scenarios[0].relative_to(clone))], out[-2000:]


def test_unchanged_chart_needs_no_bump(clone):
    """A change outside charts/ (docs, tests) needs no version bump."""
    (clone / "docs").mkdir(exist_ok=True)
    (clone / "docs" / "note.md").write_text("docs only\n")
    git(clone, "add", "docs/note.md")
    git(clone, "commit", "--quiet", "-m", "docs")
    proc = ct_lint(clone)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-2000:]
    assert "No chart changes detected" in proc.stdout, proc.stdout[-2000:]
