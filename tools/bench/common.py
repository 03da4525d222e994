"""What the benchmarks share: the results folder with its log, one progress line per step, the machine note that
every table and figure carries, and the statistics.

Runs in the project's venv (scripts/bootstrap.sh), which has everything the test harness imports; the plots are
drawn by report.py in a venv of their own (tools/bench/requirements.txt), so matplotlib stays out of the tests.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.tools import CHART, cache_dir, tool, versions

ROOT = Path(__file__).resolve().parents[2]


class BenchError(Exception):
    """A benchmark step failed; the message says which and where its log is."""


@dataclass
class Bench:
    """One benchmark run: its results folder, its log file and its results.json."""

    out: Path

    @property
    def log_path(self) -> Path:
        return self.out / "bench.log"

    @property
    def results_path(self) -> Path:
        return self.out / "results.json"

    def log(self, text: str) -> None:
        if not text.strip():
            return
        with self.log_path.open("a") as log:
            log.write(f"{datetime.now(UTC):%H:%M:%S} {text.rstrip()}\n")

    def step(self, text: str) -> None:
        """One progress line on the terminal, and the same in the log."""
        print(text, flush=True)
        self.log(text)

    def run(
        self,
        cmd: Sequence[str],
        *,
        stdin: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path = ROOT,
        timeout: float = 600,
        check: bool = True,
    ) -> subprocess.CompletedProcess:
        """Run a command, its stderr kept in the log (and its stdout too when it fails); BenchError on failure."""
        self.log(f"$ {' '.join(cmd)}")
        proc = subprocess.run(list(cmd), input=stdin, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)
        failed = check and proc.returncode != 0
        if failed and proc.stdout.strip():
            self.log(proc.stdout[-4000:])
        if proc.stderr.strip():
            self.log(proc.stderr[-4000:])
        if failed:
            raise BenchError(f"{' '.join(cmd[:2])} exited {proc.returncode} (log: {self.log_path})")
        return proc

    def load(self) -> dict[str, Any]:
        return json.loads(self.results_path.read_text()) if self.results_path.exists() else {}

    def save(self, section: str, data: Any) -> None:
        """Write one benchmark's section into results.json (after every measurement, so a failure keeps the rest)."""
        results = self.load()
        results[section] = data
        self.results_path.write_text(json.dumps(results, indent=2) + "\n")


def stats(samples: Sequence[float]) -> dict[str, Any]:
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "runs": len(samples),
        "samples": list(samples),
    }


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def tool_versions() -> dict[str, str]:
    """The versions the tools report through their build stamps (scripts/lib.sh writes BINARY.version next to each
    binary), falling back to the pins of scripts/versions.env."""
    pins = versions()
    stamps = {
        "helm": ("helm", "HELM_VERSION"),
        "helm3": ("helm3", "HELM3_VERSION"),
        "kubernetes": ("kube-apiserver", "KUBERNETES_VERSION"),
        "etcd": ("etcd", "ETCD_VERSION"),
        "kwok": ("kwok", "KWOK_VERSION"),
    }
    found = {}
    for name, (binary, pin) in stamps.items():
        stamp = cache_dir() / "bin" / f"{binary}.version"
        found[name] = stamp.read_text().strip() if stamp.exists() else pins.get(pin, "?")
    return found


def git_describe() -> str:
    proc = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True)
    return proc.stdout.strip() or "unknown"


def machine() -> dict[str, Any]:
    """Where and with what the numbers were measured."""
    chart = {}
    for line in (ROOT / "charts" / "emqx-ee" / "Chart.yaml").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("version", "appVersion"):
            chart[key] = value.strip().strip('"')
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "load_at_start": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "tools": tool_versions(),
        "chart": f"emqx-ee {chart.get('version', '?')} (EMQX {chart.get('appVersion', '?')})",
        "commit": git_describe(),
    }


# Re-exported for the benchmark modules.
__all__ = ["CHART", "ROOT", "Bench", "BenchError", "cache_dir", "machine", "stats", "tool", "versions"]
