"""Benchmarks of the chart and its harness: render, rollout, setup (see docs/benchmarks.md).

Run it through scripts/bench.sh, which provides the venvs:
  scripts/bench.sh render  [--runs 15] [--emqx-git-dir DIR] [--no-suite] [--baseline REF]
  scripts/bench.sh rollout [--replicas 1,3,5,9] [--repeat 3] [--boot-delay 12] [--upgrade-replicas 3,9]
                           [--upgrade-batches 1,3] [--scale 3:9]
  scripts/bench.sh setup   [--commands demo,test] [--modes cold,warm] [--reuse-cluster]
  scripts/bench.sh all     (render, rollout, then setup)
  scripts/bench.sh report DIR   (redraw the figures and tables of a results folder)
Each writes results.json, results.md and PNG figures into a results folder (--out, by default a new folder under
the tool cache) and prints one line per step; commands' output goes to bench.log there.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from . import render, rollout, setup_time
from .common import ROOT, Bench, BenchError, cache_dir, machine

# Why 12 s: the chart's startupProbe (values.yaml) first asks GET /status 10 s after the container starts
# (initialDelaySeconds 10); EMQX 6 has booted by then (5-8 s), so that check passes and the readiness probe, every
# 5 s, marks the pod Ready within one period after it: 10-15 s after start on a kubelet, 12 s here.
DEFAULT_BOOT_DELAY = 12.0


def numbers(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def one_or_more(*allowed: str) -> Callable[[str], list[str]]:
    """A comma-separated choice of `allowed`, kept in the order of `allowed` (cold runs before warm)."""

    def parse(text: str) -> list[str]:
        chosen = text.split(",")
        unknown = set(chosen) - set(allowed)
        if unknown:
            raise argparse.ArgumentTypeError(f"{', '.join(sorted(unknown))}: choose from {', '.join(allowed)}")
        return [a for a in allowed if a in chosen]

    return parse


def scale_range(text: str) -> tuple[int, int] | None:
    if not text:
        return None
    low, high = (int(x) for x in text.split(":"))
    return low, high


def kubeconfig_of_cluster() -> str:
    """The kubeconfig that scripts/cluster.sh wrote into its state directory's cluster.env."""
    env = Path(os.environ.get("EMQX_EE_STATE", ROOT / ".work")) / "cluster.env"
    if not env.exists():
        raise BenchError(f"no local cluster ({env} missing): scripts/cluster.sh up starts one")
    values = dict(line.split("=", 1) for line in env.read_text().splitlines() if "=" in line)
    return values["KUBECONFIG"]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("benchmark", choices=["render", "rollout", "setup", "all", "report"])
    p.add_argument("folder", nargs="?", help="report: the results folder to redraw")
    p.add_argument("--out", type=Path, help="results folder (default: a new one under $CACHE/bench/results)")
    g = p.add_argument_group("render")
    g.add_argument("--runs", type=int, default=15, help="counted runs per command (one more runs first, uncounted)")
    g.add_argument(
        "--emqx-git-dir",
        default=os.environ.get("EMQX_GIT_DIR"),
        help="a local clone or mirror of emqx/emqx to read the official chart from (env EMQX_GIT_DIR); "
        "without it the repository is cloned (blob-less) once and the chart cached",
    )
    g.add_argument("--no-suite", action="store_true", help="skip timing the render suite (pytest -m unit)")
    g.add_argument(
        "--baseline",
        metavar="REF",
        help="also time the default render of the chart at this git ref (a commit or branch of this repository)",
    )
    g = p.add_argument_group("rollout")
    g.add_argument("--replicas", type=numbers, default=[1, 3, 5, 9], help="replica counts of the install sweep")
    g.add_argument("--policies", type=one_or_more("Parallel", "OrderedReady"), default=["Parallel", "OrderedReady"])
    g.add_argument("--repeat", type=int, default=3, help="runs per point (median, min, max)")
    g.add_argument(
        "--boot-delay",
        type=float,
        default=DEFAULT_BOOT_DELAY,
        help=f"seconds each pod takes to become Ready (kwok), default {DEFAULT_BOOT_DELAY:g}",
    )
    g.add_argument("--upgrade-replicas", type=numbers, default=[3, 9], help="release sizes of the rolling upgrade")
    g.add_argument(
        "--upgrade-batches",
        type=numbers,
        default=[1, 3],
        help="pods replaced at once in the rolling upgrade (updateStrategy.rollingUpdate.maxUnavailable)",
    )
    g.add_argument("--scale", type=scale_range, default=(3, 9), help="FROM:TO of the scale-up ('' to skip)")
    g = p.add_argument_group("setup")
    g.add_argument("--commands", type=one_or_more("demo", "test"), default=["demo", "test"])
    g.add_argument("--modes", type=one_or_more("cold", "warm"), default=["cold", "warm"])
    g.add_argument(
        "--reuse-cluster",
        action="store_true",
        help="measure with the local cluster that is up (otherwise setup refuses to run while one is)",
    )
    g.add_argument(
        "--scratch",
        type=Path,
        default=Path(os.environ.get("TMPDIR", "/tmp")) / "emqx-ee-bench-setup",
        help="where the cold caches and the scratch cluster state go (removed afterwards)",
    )
    g.add_argument("--keep-scratch", action="store_true")
    return p


def draw(folder: Path) -> None:
    """report.py runs in the benchmark venv (matplotlib), which scripts/bench.sh names in BENCH_PYTHON."""
    python = os.environ.get("BENCH_PYTHON", str(cache_dir() / "venv-bench" / "bin" / "python"))
    subprocess.run([python, str(Path(__file__).with_name("report.py")), str(folder)], check=True)


def main() -> None:
    args = parser().parse_args()
    if args.benchmark == "report":
        if not args.folder:
            sys.exit("usage: scripts/bench.sh report RESULTS_FOLDER")
        draw(Path(args.folder))
        return
    chosen = ["render", "rollout", "setup"] if args.benchmark == "all" else [args.benchmark]
    try:
        if "setup" in chosen:
            setup_time.check_cluster(args.reuse_cluster)  # before anything, not after an hour of other benchmarks
    except BenchError as err:
        sys.exit(f"error: {err}")
    out = args.out or cache_dir() / "bench" / "results" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out.mkdir(parents=True, exist_ok=True)
    bench = Bench(out.resolve())
    info = machine()
    bench.save("machine", info)
    bench.step(f"results: {bench.out}  (log: {bench.log_path})")
    bench.step(f"machine: {info['cores']} cores ({info['cpu']}), load {info['load_at_start']}, tools {info['tools']}")
    try:
        if "render" in chosen:
            render.run(bench, args.runs, args.emqx_git_dir, suite=not args.no_suite, baseline=args.baseline)
        if "rollout" in chosen:
            rollout.run(
                bench,
                kubeconfig_of_cluster(),
                args.replicas,
                args.policies,
                args.repeat,
                args.boot_delay,
                args.upgrade_replicas,
                args.scale,
                args.upgrade_batches,
            )
        if "setup" in chosen:
            setup_time.run(bench, args.commands, args.modes, args.reuse_cluster, args.scratch, args.keep_scratch)
    except BenchError as err:
        bench.log(f"error: {err}")
        sys.exit(f"error: {err}")
    finally:
        results = bench.load()
        bench.save("machine", {**results["machine"], "load_at_end": round(os.getloadavg()[0], 2)})
        if len(results) > 1:  # something besides the machine was measured
            draw(bench.out)


if __name__ == "__main__":
    main()
