"""Where the harness finds the chart and the tools that scripts/bootstrap.sh installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "emqx-ee"


def versions() -> dict[str, str]:
    """The pinned tool versions of scripts/versions.env."""
    pins = {}
    for line in (ROOT / "scripts" / "versions.env").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            pins[key.strip()] = value.strip()
    return pins


def cache_dir() -> Path:
    """The tool cache of scripts/lib.sh (outside the repository)."""
    if os.environ.get("EMQX_EE_CACHE"):
        return Path(os.environ["EMQX_EE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "emqx-ee"


def tool(name: str) -> str:
    """Path of a tool: the cached build first, then PATH. Fails loudly when missing."""
    cached = cache_dir() / "bin" / name
    if cached.exists():
        return str(cached)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} not found in {cached.parent} or PATH: run scripts/bootstrap.sh")
    return found


@dataclass(frozen=True)
class Helm:
    """One Helm CLI: `major` is 3 or 4."""

    major: int
    path: str

    def __str__(self) -> str:
        return f"helm{self.major}"


def helm(major: int) -> Helm:
    return Helm(major, tool("helm" if major == 4 else "helm3"))


def chart_from_git(version: str, into: Path) -> Path:
    """The chart as it was at its newest commit with Chart.yaml `version`, extracted under `into` (to install
    a released version and upgrade it to the working tree). Fails when the clone's history lacks it."""
    chart = CHART.relative_to(ROOT)
    log = subprocess.run(
        ["git", "-C", str(ROOT), "log", "--format=%H", "--", f"{chart}/Chart.yaml"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for commit in log:
        shown = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{commit}:{chart}/Chart.yaml"], capture_output=True, text=True
        ).stdout
        if f"\nversion: {version}\n" in f"\n{shown}":
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", commit, str(chart)], capture_output=True, check=True
            ).stdout
            with tarfile.open(fileobj=BytesIO(archive)) as tar:
                tar.extractall(into, filter="data")
            return into / chart
    raise FileNotFoundError(f"no commit of {chart}/Chart.yaml has version {version} (shallow clone?)")


def go_module_dir(module: str, version: str) -> Path:
    """Where the Go module cache holds `module@version` (scripts/build-cluster-tools.sh downloads it)."""
    proc = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"], capture_output=True, text=True, timeout=300
    )
    found = json.loads(proc.stdout or "{}")
    if proc.returncode != 0 or "Dir" not in found:
        raise FileNotFoundError(f"go mod download {module}@{version} failed: {found.get('Error')} {proc.stderr}")
    return Path(found["Dir"])
