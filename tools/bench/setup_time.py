"""setup: how long the README's commands (scripts/demo.sh, scripts/test.sh) take cold (empty tool, Go and pip
caches) and warm (tools cached), broken down by step.

The commands run unchanged, as a user types them (test.sh gets only a --junitxml report file, which it passes to
pytest). The breakdown comes from their own output: every step of the scripts begins with a `==> ` line
(scripts/lib.sh `log` and `step`), so each line is timestamped when its first byte arrives and a step lasts until the
next `==> ` line. That keeps the steps exactly as the scripts order and skip them (a cached tool is a line, not a
build), which running the steps one by one would not. pytest runs the unit, smoke and publishing suites in one
session, so its junit report splits that step by suite.

Both commands bring the local cluster up, and scripts/cluster.sh names it `emqx-ee` whatever its state directory, so
a second cluster cannot run beside a running one: the benchmark refuses to start while one is up, unless told
--reuse-cluster (then the cluster-up step measures the reuse, not the creation). Without --reuse-cluster the commands
get a scratch EMQX_EE_STATE, so that the `scripts/cluster.sh down` after each run (test.sh's own, or the benchmark's
after demo.sh, which leaves its cluster up) removes nothing but that scratch state.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import stat
import subprocess
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .common import ROOT, Bench, BenchError, cache_dir, tool

COMMANDS = {"demo": "scripts/demo.sh", "test": "scripts/test.sh"}
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

# How a `==> ` line names its step, first match wins; anything else keeps its own text. The scripts say
# `NAME VERSION: building ...`, `NAME: installing ...`, `NAME VERSION cached` (scripts/lib.sh `step` and `log`).
TOOL = r"^(\S+)(?: v?\d\S*)?: "
CATEGORIES = [
    (re.compile(r"from k8s\.io/kubernetes"), "build kubernetes"),  # several binaries, one build
    (re.compile(r"^python venv: "), "python venv"),
    (re.compile(r"^CNI plugins \S+ \(.*\): building"), "build CNI plugins"),
    (re.compile(r"^image \S+/([^/:\s]+):\S+: building"), "image {0}"),
    (re.compile(r"^real node \S+: starting"), "real node up"),
    (re.compile(r"^real node \S+ already running"), "cluster up"),
    (re.compile(TOOL + "installing Debian's"), "apt {0}"),
    (re.compile(TOOL + "installing"), "install {0}"),
    (re.compile(TOOL + "(?:building|compiling)"), "build {0}"),
    (re.compile(TOOL + "downloading"), "download {0}"),
    (re.compile(r"cluster \S+: creating|cluster \S+ already running|CoreDNS"), "cluster up"),
    (re.compile(r"cached|present|up to date|: reusing|in the Go module cache|^tools ready"), "tool checks"),
    (re.compile(r"^ruff check"), "lint (ruff)"),
    (re.compile(r"^pytest"), "pytest"),
]


def category(text: str, command: str) -> str:
    if text.startswith("cluster ready"):
        # demo.sh goes on with the demo itself right after this line; in test.sh the next step follows at once.
        return "demo" if command == "demo" else "cluster up"
    for pattern, name in CATEGORIES:
        found = pattern.search(text)
        if found:
            return name.format(*found.groups())
    return text[:48]


@dataclass
class Timed:
    """One run of a command: exit code, total seconds, and the `==> ` lines with the second each began."""

    exit_code: int
    seconds: float
    steps: list[tuple[float, str]] = field(default_factory=list)


def run_streamed(cmd: list[str], env: dict[str, str], log_path: Path, cwd: Path = ROOT) -> Timed:
    """Run `cmd` with stdout and stderr on one pipe (so the lines keep their order), write every line to `log_path`
    with the second it began, and note the `==> ` lines.

    A line counts from its first byte, not from its end: scripts/lib.sh `step` prints `==> WHAT ...` when a build
    starts and ` done in 83 s` and the newline only when it ends. Progress lines that redraw themselves with \r
    count as a line per redraw."""
    start = time.monotonic()
    steps = []
    with log_path.open("w") as log:

        def line(raw: bytes, began: float) -> None:
            text = ANSI.sub("", raw.decode(errors="replace"))
            if text.strip():
                log.write(f"[{began:8.1f}s] {text}\n")
            if text.startswith("==> "):
                steps.append((began, text[4:].strip()))

        # No terminal input: a command waiting for a keypress would hang the benchmark; it gets end-of-file instead.
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=cwd
        )
        assert proc.stdout is not None
        pending, began = b"", 0.0
        while chunk := os.read(proc.stdout.fileno(), 65536):  # whatever has arrived, not whole lines
            now = time.monotonic() - start
            if not pending:
                began = now
            *complete, pending = re.split(rb"[\r\n]", pending + chunk)
            for raw in complete:
                line(raw, began)
                began = now  # the next line began in this chunk
        if pending:
            line(pending, began)
        code = proc.wait()
    return Timed(code, time.monotonic() - start, steps)


def breakdown(timed: Timed, command: str) -> dict[str, float]:
    """Seconds per step category, in the order the steps first appeared. Output before the first `==> ` line
    counts as `start`."""
    marks = [(0.0, "start"), *timed.steps, (timed.seconds, "")]
    totals: dict[str, float] = collections.defaultdict(float)
    for (begin, text), (end, _) in zip(marks, marks[1:], strict=False):
        name = "start" if text == "start" else category(text, command)
        totals[name] += end - begin
    return dict(totals)


def junit_suites(path: Path) -> tuple[dict[str, float], float]:
    """Seconds per test directory (unit, smoke, publish ...) from a pytest junit report (each test case's time
    includes its fixtures' setup and teardown), and the pytest session's own total."""
    root = ET.parse(path).getroot()
    suites: dict[str, float] = collections.defaultdict(float)
    for case in root.iter("testcase"):
        parts = case.get("classname", "").split(".")
        suite = parts[1] if len(parts) > 1 and parts[0] == "tests" else parts[0]
        suites[suite] += float(case.get("time", 0))
    total = sum(float(s.get("time", 0)) for s in root.iter("testsuite"))
    return dict(suites), total


def split_pytest(steps: dict[str, float], junit: Path) -> dict[str, float]:
    """Replace the `pytest` step by one entry per suite, plus what the suites do not account for (collection, the
    cluster teardown that test.sh runs after pytest). Under pytest-xdist the suites run side by side and their
    test times add up to more than the step's wall time: each suite then gets its share of the wall time."""
    if "pytest" not in steps or not junit.exists():
        return steps
    suites, _ = junit_suites(junit)
    out = {}
    for name, seconds in steps.items():
        if name != "pytest":
            out[name] = seconds
            continue
        scale = min(1.0, seconds / sum(suites.values())) if suites else 1.0
        for suite, suite_seconds in sorted(suites.items()):
            out[f"{suite} suite"] = suite_seconds * scale
        out["collection, cluster down"] = max(0.0, seconds - sum(suites.values()) * scale)
    return out


def kwok_cluster_processes() -> list[str]:
    """Processes of a kwok cluster named emqx-ee, whatever its work directory (kwokctl keeps it under
    <workdir>/clusters/emqx-ee/)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if "/clusters/emqx-ee/" in cmdline:
                found.append(f"{proc.name} {cmdline.split()[0]}")
    return found


def running_clusters(state: Path) -> list[str]:
    """What says a local cluster is up: the state directory's API server answering, kwok processes of the cluster
    name, a kind cluster of that name."""
    up = []
    kubeconfig = state / "kubeconfig"
    if kubeconfig.exists():
        ready = subprocess.run(
            [tool("kubectl"), "--kubeconfig", str(kubeconfig), "get", "--raw", "/readyz"],
            capture_output=True,
            timeout=30,
        )
        if ready.returncode == 0:
            up.append(f"the API server of {kubeconfig} answers")
    processes = kwok_cluster_processes()
    if processes:
        up.append(f"{len(processes)} processes of kwok cluster emqx-ee run (e.g. {processes[0]})")
    if shutil.which("kind") and subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
        clusters = subprocess.run(["kind", "get", "clusters"], capture_output=True, text=True).stdout.split()
        if "emqx-ee" in clusters:
            up.append("kind cluster emqx-ee exists")
    return up


def remove_tree(path: Path) -> None:
    """rm -rf that also removes the Go module cache (its files are read-only)."""

    def writable_then_retry(func: Any, target: str, _exc: Any) -> None:
        os.chmod(os.path.dirname(target), stat.S_IRWXU)
        os.chmod(target, stat.S_IRWXU)
        func(target)

    if path.exists():
        shutil.rmtree(path, onerror=writable_then_retry)  # onexc only from Python 3.12; the project supports 3.11


def command_env(scratch_caches: bool, scratch: Path, reuse_cluster: bool) -> dict[str, str]:
    """The environment of one run: the user's, with empty (cold) or just-filled caches in `scratch` when asked,
    and a scratch cluster state unless the running cluster is reused."""
    env = {k: v for k, v in os.environ.items() if k not in ("KEEP_CLUSTER", "EMQX_EE_REQUIRE_CLUSTER")}
    if scratch_caches:
        # Without the real tool cache on PATH: bootstrap.sh would reuse its helm and kubectl as "found on PATH".
        real_bin = str(cache_dir() / "bin")
        env["PATH"] = os.pathsep.join(d for d in env.get("PATH", "").split(os.pathsep) if d != real_bin)
        env.update(
            EMQX_EE_CACHE=str(scratch / "cache"),
            GOCACHE=str(scratch / "go-build"),
            GOMODCACHE=str(scratch / "go-mod"),
            PIP_CACHE_DIR=str(scratch / "pip"),
        )
    if not reuse_cluster:
        env["EMQX_EE_STATE"] = str(scratch / "state")
    return env


def cluster_state() -> Path:
    return Path(os.environ.get("EMQX_EE_STATE", ROOT / ".work"))


def check_cluster(reuse_cluster: bool) -> None:
    """Refuse to start while a local cluster is up, unless it is to be reused (and then it must be up)."""
    up = running_clusters(cluster_state())
    if up and not reuse_cluster:
        raise BenchError(
            "refusing to run the setup benchmark while a local cluster is up ("
            + "; ".join(up)
            + "): scripts/demo.sh and scripts/test.sh would reuse it, and the cluster name emqx-ee is fixed, so no "
            "second one can start beside it. Stop it (scripts/cluster.sh down) if nobody else uses it, or pass "
            "--reuse-cluster to measure with it (the cluster-up step then times its reuse, not its creation)."
        )
    if reuse_cluster and not up:
        raise BenchError("--reuse-cluster, but no local cluster is up: run without it")


def run(
    bench: Bench, commands: list[str], modes: list[str], reuse_cluster: bool, scratch: Path, keep_scratch: bool
) -> dict[str, Any]:
    """Run each command cold then warm (as `modes` says). Call check_cluster first."""
    state = cluster_state()
    demo_namespace_existed = reuse_cluster and _namespace_exists(state, "emqx-demo")

    result: dict[str, Any] = {"reuse_cluster": reuse_cluster, "runs": []}
    # Warm after cold reuses the caches that the cold run just filled, not the user's: the pair then describes
    # the same tools. A warm run alone uses the user's caches.
    scratch_caches = "cold" in modes
    try:
        for command in commands:
            for mode in modes:
                if mode == "cold":
                    remove_tree(scratch)
                scratch.mkdir(parents=True, exist_ok=True)
                env = command_env(scratch_caches, scratch, reuse_cluster)
                argv = [str(ROOT / COMMANDS[command])]
                junit = bench.out / f"setup-{command}-{mode}-junit.xml"
                if command == "test":
                    argv.append(f"--junitxml={junit}")
                log_path = bench.out / f"setup-{command}-{mode}.log"
                bench.step(f"[setup] {mode} {COMMANDS[command]} (log: {log_path}) ...")
                timed = run_streamed(argv, env, log_path)
                steps = split_pytest(breakdown(timed, command), junit)
                if not reuse_cluster:
                    # demo.sh leaves its cluster up; test.sh removed its own already (down is idempotent).
                    bench.run([str(ROOT / "scripts" / "cluster.sh"), "down"], env=env, check=False)
                result["runs"].append(
                    {
                        "command": COMMANDS[command],
                        "mode": mode,
                        "seconds": timed.seconds,
                        "exit_code": timed.exit_code,
                        "steps": steps,
                        "log": str(log_path),
                    }
                )
                bench.save("setup", result)
                bench.step(f"[setup] {mode} {COMMANDS[command]}: {timed.seconds / 60:.1f} min (exit {timed.exit_code})")
                if timed.exit_code != 0:
                    raise BenchError(f"{COMMANDS[command]} exited {timed.exit_code} (log: {log_path})")
    finally:
        if reuse_cluster and not demo_namespace_existed and "demo" in commands:
            subprocess.run(
                [
                    tool("kubectl"),
                    "--kubeconfig",
                    str(state / "kubeconfig"),
                    "delete",
                    "namespace",
                    "emqx-demo",
                    "--ignore-not-found",
                    "--wait=false",
                ],
                capture_output=True,
            )
        if not keep_scratch:
            remove_tree(scratch)
    return result


def _namespace_exists(state: Path, name: str) -> bool:
    proc = subprocess.run(
        [tool("kubectl"), "--kubeconfig", str(state / "kubeconfig"), "get", "namespace", name], capture_output=True
    )
    return proc.returncode == 0
