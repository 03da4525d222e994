"""render: how long `helm template` takes for this chart, next to a bare helm process start and the official EMQX
chart, and how long the render suite takes and how many helm processes it starts."""

from __future__ import annotations

import collections
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

import yaml

from .common import CHART, ROOT, Bench, BenchError, cache_dir, stats, tool

# The official chart, emqx/emqx deploy/charts/emqx-enterprise, at the newest commit touching it on the 6.2 release
# line (branch release-62, merge of 2026-07-07 10:15 +02:00): chart version 6.2.2 for EMQX 6.2.2, the EMQX version
# this chart runs. master had moved on to 6.3.0-beta.2 by then.
OFFICIAL_REPO = "https://github.com/emqx/emqx"
OFFICIAL_COMMIT = "f0468d775ed900c12f3e383308956d385ea53261"
OFFICIAL_PATH = "deploy/charts/emqx-enterprise"


def official_chart(bench: Bench, git_dir: str | None) -> Path:
    """The official chart at OFFICIAL_COMMIT, extracted once into the tool cache. Read from `git_dir` (a clone or a
    bare mirror) when given; otherwise from a blob-less clone of OFFICIAL_REPO that is removed afterwards."""
    target = cache_dir() / "bench" / f"emqx-enterprise-{OFFICIAL_COMMIT[:12]}"
    if (target / "Chart.yaml").exists():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        if not git_dir:
            git_dir = f"{tmp}/emqx.git"
            bench.step(f"[render] cloning {OFFICIAL_REPO} (blob-less, no checkout) to extract {OFFICIAL_PATH}")
            bench.run(["git", "clone", "--quiet", "--filter=blob:none", "--no-checkout", OFFICIAL_REPO, git_dir])
        found = bench.run(["git", "-C", git_dir, "cat-file", "-e", f"{OFFICIAL_COMMIT}^{{commit}}"], check=False)
        if found.returncode != 0:
            raise BenchError(f"{git_dir} lacks commit {OFFICIAL_COMMIT} of {OFFICIAL_REPO}: fetch it first")
        archive = subprocess.run(
            ["git", "-C", git_dir, "archive", OFFICIAL_COMMIT, OFFICIAL_PATH], capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(f"{tmp}/{OFFICIAL_PATH}", target)
    return target


def count_objects(manifest: str) -> int:
    return sum(1 for doc in yaml.safe_load_all(manifest) if doc)


def largest_scenario(bench: Bench, helm: str) -> tuple[Path, int]:
    """The ci/ scenario rendering the most objects (ties: the longer manifest)."""
    sizes = []
    for path in sorted((CHART / "ci").glob("*-values.yaml")):
        out = bench.run([helm, "template", "emqx-ee", str(CHART), "-f", str(path)]).stdout
        sizes.append((count_objects(out), len(out), path))
    objects, _, path = max(sizes)
    return path, objects


def time_interleaved(bench: Bench, cmds: list[list[str]], runs: int) -> list[list[float]]:
    """Wall times of `runs` rounds of every command, one run of each per round (so that a change of the machine's
    load in the middle hits every command alike), after one round that is not counted."""
    for cmd in cmds:
        bench.log(f"$ {' '.join(cmd)}  ({runs} + 1 runs, interleaved)")
    times: list[list[float]] = [[] for _ in cmds]
    for i in range(runs + 1):
        for j, cmd in enumerate(cmds):
            start = time.perf_counter()
            proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT)
            elapsed = time.perf_counter() - start
            if proc.returncode != 0:
                bench.log(proc.stderr)
                raise BenchError(f"{' '.join(cmd[:3])} exited {proc.returncode} (log: {bench.log_path})")
            if i:
                times[j].append(elapsed)
    return times


SHIM = """#!/bin/sh
# Counting shim of tools/bench/render.py: note the call, then become the real {name}.
echo "{name} $1" >>'{calls}'
exec '{real}' "$@"
"""


def counting_cache(scratch: Path, calls: Path) -> Path:
    """A tool cache for EMQX_EE_CACHE that behaves like the real one (every entry linked, tools and their version
    stamps alike) except that helm, helm3 and their batch programs are shims appending one line per process to
    `calls`."""
    real = cache_dir()
    (scratch / "bin").mkdir(parents=True)
    for entry in real.iterdir():
        if entry.name not in ("bin", "bench"):
            (scratch / entry.name).symlink_to(entry)
    for entry in (real / "bin").iterdir():
        link = scratch / "bin" / entry.name
        if entry.name in ("helm", "helm3", "helm-batch", "helm3-batch"):
            link.write_text(SHIM.format(name=entry.name, calls=calls, real=entry.resolve()))
            link.chmod(0o755)
        else:
            link.symlink_to(entry)
    return scratch


def render_suite(bench: Bench) -> dict[str, Any]:
    """The render suite (pytest -m unit) as a user runs it, with its helm processes counted through a scratch tool
    cache whose helm binaries are counting shims. The harness finds tools through EMQX_EE_CACHE
    (tests/harness/tools.py), scripts through $EMQX_EE_CACHE/bin on PATH (scripts/lib.sh); the scratch bin also goes
    first on PATH for anything that runs `helm` by name."""
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as tmp:
        calls = Path(tmp) / "helm-calls.txt"
        calls.touch()
        scratch = counting_cache(Path(tmp) / "cache", calls)
        env = {
            **os.environ,
            "EMQX_EE_CACHE": str(scratch),
            "PATH": f"{scratch / 'bin'}{os.pathsep}{os.environ['PATH']}",
        }
        cmd = [str(cache_dir() / "venv" / "bin" / "pytest"), "-m", "unit", "-q", "-p", "no:cacheprovider"]
        suite_log = bench.out / "render-suite.log"
        bench.log(f"$ EMQX_EE_CACHE={scratch} {' '.join(cmd)}  > {suite_log}")
        start = time.perf_counter()
        with suite_log.open("w") as out:
            proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        elapsed = time.perf_counter() - start
        by_command = collections.Counter(calls.read_text().splitlines())
    lines = suite_log.read_text().splitlines()
    summary = next((line.strip("= ") for line in reversed(lines) if re.search(r"\d+ (passed|failed|error)", line)), "")
    return {
        "seconds": elapsed,
        "exit_code": proc.returncode,
        "summary": summary,
        "helm_processes": sum(by_command.values()),
        "helm_by_command": dict(by_command.most_common()),
        "log": str(suite_log),
    }


def baseline_chart(bench: Bench, ref: str, into: Path) -> Path:
    """The chart as it is at git ref `ref` of this repository, extracted into `into`."""
    cmd = ["git", "-C", str(ROOT), "archive", "--format=tar", ref, "charts/emqx-ee"]
    bench.log(f"$ {' '.join(cmd)}")
    archive = subprocess.run(cmd, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "charts" / "emqx-ee"


def large_emqx_config(into: Path) -> tuple[Path, int]:
    """A values file with the large emqxConfig of the render tests (harness.emqx_config.LARGE_SECTIONS)."""
    from harness.emqx_config import LARGE_SECTIONS, sample_config

    config = sample_config(LARGE_SECTIONS)
    path = into / "large-emqx-config-values.yaml"
    path.write_text(yaml.safe_dump({"emqxConfig": config}))
    return path, len(config)


def run(bench: Bench, runs: int, git_dir: str | None, suite: bool, baseline: str | None = None) -> dict[str, Any]:
    helm, helm3 = tool("helm"), tool("helm3")
    chart = official_chart(bench, git_dir)
    scenario, scenario_objects = largest_scenario(bench, helm)
    official_version = yaml.safe_load((chart / "Chart.yaml").read_text())["version"]
    bench.step(f"[render] official chart: {OFFICIAL_PATH} {official_version} at {OFFICIAL_COMMIT[:12]} ({chart})")
    bench.step(f"[render] largest scenario: {scenario.name} ({scenario_objects} objects)")

    with tempfile.TemporaryDirectory() as tmp:
        shim = Path(tmp) / "helm"
        shim.write_text(SHIM.format(name="helm", calls=Path(tmp) / "calls.txt", real=Path(helm).resolve()))
        shim.chmod(0o755)
        chart_rel = str(CHART.relative_to(ROOT))
        large, settings = large_emqx_config(Path(tmp))
        cases = [
            ("helm version (process start)", [helm, "version"], None, True),
            ("helm template, default values", [helm, "template", "emqx-ee", chart_rel], CHART, True),
            (
                f"helm template, {scenario.name.removesuffix('-values.yaml')}",
                [helm, "template", "emqx-ee", chart_rel, "-f", str(scenario.relative_to(ROOT))],
                scenario,
                True,
            ),
            ("helm3 template, default values", [helm3, "template", "emqx-ee", chart_rel], CHART, True),
            (
                f"official emqx-enterprise {official_version}, defaults",
                [helm, "template", "emqx", str(chart)],
                chart,
                True,
            ),
            (
                f"helm template, a large emqxConfig ({settings} settings)",
                [helm, "template", "emqx-ee", chart_rel, "-f", str(large)],
                CHART,
                True,
            ),
            *(
                [
                    (
                        f"helm template, default values, chart at {baseline}",
                        [helm, "template", "emqx-ee", str(baseline_chart(bench, baseline, Path(tmp) / "base"))],
                        CHART,
                        True,
                    ),
                ]
                if baseline
                else []
            ),
            # Not plotted: what the counting shim of the suite measurement adds to every helm process.
            ("helm version through the counting shim", [str(shim), "version"], None, False),
        ]
        rows = []
        timed = time_interleaved(bench, [cmd for _, cmd, _, _ in cases], runs)
        for (label, cmd, rendered, plot), times in zip(cases, timed, strict=True):
            objects = count_objects(bench.run(cmd).stdout) if rendered else None
            shown = [
                Path(cmd[0]).name,
                *(
                    f"emqx-enterprise@{OFFICIAL_COMMIT[:12]}"
                    if c == str(chart)
                    else f"charts/emqx-ee@{baseline}"
                    if c.endswith("/base/charts/emqx-ee")
                    else Path(c).name
                    if c == str(large)
                    else c
                    for c in cmd[1:]
                ),
            ]
            row = {"label": label, "command": " ".join(shown)}
            row.update(stats(times), objects=objects, plot=plot)
            rows.append(row)
            bench.step(
                f"[render] {label}: median {row['median'] * 1000:.0f} ms "
                f"(min {row['min'] * 1000:.0f}, max {row['max'] * 1000:.0f}; {runs} runs)"
            )
    result: dict[str, Any] = {
        "runs": runs,
        "official_chart": {"repo": OFFICIAL_REPO, "commit": OFFICIAL_COMMIT, "path": OFFICIAL_PATH},
        "cases": rows,
    }
    bench.save("render", result)
    if suite:
        bench.step("[render] render suite (pytest -m unit) with helm processes counted: several minutes ...")
        result["suite"] = render_suite(bench)
        s = result["suite"]
        bench.step(
            f"[render] render suite: {s['seconds']:.0f} s, {s['helm_processes']} helm processes "
            f"(exit {s['exit_code']}: {s['summary'] or 'no summary line'}; log: {s['log']})"
        )
        bench.save("render", result)
    return result
