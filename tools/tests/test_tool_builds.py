"""Quiet tool builds: scripts/lib.sh prints one progress line per tool and keeps the build output in a log
file, printed (its end and its path) only when the build fails, which still fails the script.

The real `go` would need minutes and the network, so a stand-in `go` on PATH floods its output the way a cold
`go install` does (300 `go: downloading` lines) and then builds a tiny binary or fails. Everything happens in
a scratch tool cache (EMQX_EE_CACHE); the real cache is never touched."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from harness.tools import ROOT

pytestmark = pytest.mark.unit

LIB = ROOT / "scripts" / "lib.sh"
NAME, MODULE, VERSION = "foo", "example.com/foo/cmd/foo", "v1.2.3"

# A cold `go install`: hundreds of lines on stderr, then the binary in $GOBIN, or 40 compile errors and a
# last line.
STAND_IN_GO = """#!/usr/bin/env bash
printf '%s\\n' "$*" >>"$GO_CALLS"
for i in $(seq 1 300); do echo "go: downloading example.com/dep$i v0.0.$i" >&2; done
if [[ $GO_FAILS == 1 ]]; then
  for i in $(seq 1 40); do echo "cmd/foo/main.go:$i:1: undefined: thing$i" >&2; done
  echo "example.com/foo/cmd/foo: the last words of a failed build" >&2
  exit 1
fi
printf '#!/bin/sh\\necho foo\\n' >"$GOBIN/foo" && chmod +x "$GOBIN/foo"
"""


class Scratch:
    """A scratch tool cache and a stand-in `go`; `bash(script)` runs script after sourcing lib.sh."""

    def __init__(self, tmp_path: Path) -> None:
        self.cache = tmp_path / "cache"
        self.calls = tmp_path / "go.calls"
        standins = tmp_path / "standins"
        standins.mkdir()
        go = standins / "go"
        go.write_text(STAND_IN_GO)
        go.chmod(0o755)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("EMQX_EE_")},
            "EMQX_EE_CACHE": str(self.cache),
            "PATH": f"{standins}:{os.environ['PATH']}",
            "GO_CALLS": str(self.calls),
            "GO_FAILS": "0",
        }

    def bash(self, script: str, go_fails: bool = False) -> subprocess.CompletedProcess:
        env = {**self.env, "GO_FAILS": "1" if go_fails else "0"}
        return subprocess.run(
            ["bash", "-c", f'set -euo pipefail; source "{LIB}"; {script}'],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    @property
    def bin(self) -> Path:
        return self.cache / "bin"

    def go_calls(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []


@pytest.fixture
def scratch(tmp_path: Path) -> Scratch:
    return Scratch(tmp_path)


GO_INSTALL = f'go_install {NAME} "{MODULE}@{VERSION}" "-X main.version={VERSION}"'
PROGRESS = re.compile(rf"^==> {NAME} {VERSION}: building {MODULE} from the Go module proxy \.\.\. done in \d+ s$", re.M)


def plain(text: str) -> str:
    """Terminal output without the bold on/off escapes of log()."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_a_build_prints_one_progress_line_and_stamps_the_binary(scratch):
    proc = scratch.bash(GO_INSTALL)
    out = plain(proc.stdout + proc.stderr)
    assert proc.returncode == 0, out
    assert PROGRESS.fullmatch(out.strip()), f"want one progress line, got:\n{out}"
    assert (scratch.bin / NAME).is_file() and os.access(scratch.bin / NAME, os.X_OK)
    assert (scratch.bin / f"{NAME}.version").read_text().strip() == VERSION
    log = scratch.cache / "logs" / f"{NAME}-{VERSION}.log"
    assert log.read_text().count("go: downloading") == 300, "the full Go output belongs in the log file"
    (call,) = scratch.go_calls()
    assert call == f"install -trimpath -ldflags -s -w -X main.version={VERSION} {MODULE}@{VERSION}"


def test_a_warm_run_says_cached_and_builds_nothing(scratch):
    assert scratch.bash(GO_INSTALL).returncode == 0
    proc = scratch.bash(GO_INSTALL)
    assert proc.returncode == 0, proc.stderr
    assert plain(proc.stderr).strip() == f"==> {NAME} {VERSION} cached"
    assert len(scratch.go_calls()) == 1, "a stamped binary must not be rebuilt"


def test_a_failed_build_shows_the_end_of_its_log_and_stops_the_script(scratch):
    proc = scratch.bash(f"{GO_INSTALL}; echo after the build", go_fails=True)
    out = plain(proc.stdout + proc.stderr)
    log = scratch.cache / "logs" / f"{NAME}-{VERSION}.log"
    assert proc.returncode != 0, f"a failed build must fail the script (set -e):\n{out}"
    assert "after the build" not in out, "set -e: the script went on after a failed build"
    lines = out.splitlines()
    # The progress line, the last 20 lines of the log, and where the whole log is: not 300 lines.
    assert len(lines) <= 25, f"{len(lines)} lines printed for a failed build:\n{out}"
    assert re.match(rf"==> {NAME} {VERSION}: building .* \.\.\. failed after \d+ s \(exit 1\)", lines[0]), out
    assert "the last words of a failed build" in out and "main.go:40:1" in out, "the end of the log must be shown"
    assert "main.go:1:1" not in out and "example.com/dep1 " not in out, "the rest belongs in the log file only"
    assert f"full log: {log}" in out
    assert log.read_text().count("go: downloading") == 300
    assert not (scratch.bin / f"{NAME}.version").exists(), "a failed build must not stamp a version"
    assert not (scratch.bin / NAME).exists()


def test_a_failed_build_is_caught_by_if_not(scratch):
    # Callers write `if ! go_install ...`: bash turns set -e off inside, so go_install must still fail.
    proc = scratch.bash(f'if ! {GO_INSTALL}; then echo "caught"; exit 0; fi; echo "missed"', go_fails=True)
    assert proc.stdout.strip() == "caught", proc.stdout + proc.stderr
    assert not (scratch.bin / f"{NAME}.version").exists()


def test_a_step_stops_at_its_first_failing_command(scratch):
    # A multi-command step that relies on set -e: the failure in its middle must fail the step.
    proc = scratch.bash(
        'two() { echo one; false; echo "went on"; }; step "$LOGS/two.log" "two steps" two; echo "after"'
    )
    log = (scratch.cache / "logs" / "two.log").read_text()
    assert proc.returncode != 0 and "after" not in proc.stdout, proc.stdout + proc.stderr
    assert "one" in log and "went on" not in log, log


# tools/helm-batch/build.sh with a stand-in `go`: `mod download -json` names a fake Helm 3 module (read-only,
# as in the module cache), `build -o OUT` writes a tiny binary.
STAND_IN_GO_FOR_BATCH = """#!/usr/bin/env bash
printf '%s\\n' "$*" >>"$GO_CALLS"
case "$1 $2" in
  "mod download") printf '{\\n\\t"Path": "helm.sh/helm/v3",\\n\\t"Dir": "%s",\\n}\\n' "$FAKE_HELM3" ;;
  "mod edit") ;;
  build*)
    while [[ $# -gt 0 ]]; do [[ $1 == -o ]] && out=$2; shift; done
    printf '#!/bin/sh\\n' >"$out" && chmod +x "$out" ;;
esac
"""


def test_the_batch_programs_build_into_an_empty_cache(scratch, tmp_path):
    """A fresh machine has no $CACHE/src yet: the Helm 3 copy must not depend on another build having made it
    (the cold setup benchmark found that)."""
    fake = tmp_path / "helm3-module"
    (fake / "cmd" / "helm").mkdir(parents=True)
    (fake / "cmd" / "helm" / "helm.go").write_text("package main\n\nfunc main() {\n}\n")
    for path in (fake / "cmd" / "helm" / "helm.go", fake / "cmd" / "helm", fake / "cmd", fake):
        path.chmod(0o555 if path.is_dir() else 0o444)
    go = tmp_path / "standins" / "go"
    go.write_text(STAND_IN_GO_FOR_BATCH)
    proc = subprocess.run(
        ["bash", str(ROOT / "tools" / "helm-batch" / "build.sh")],
        env={**scratch.env, "FAKE_HELM3": str(fake)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    out = plain(proc.stdout + proc.stderr)
    assert proc.returncode == 0, out
    for program in ("helm-batch", "helm3-batch"):
        assert os.access(scratch.bin / program, os.X_OK), f"{program} missing:\n{out}"
        assert (scratch.bin / f"{program}.version").is_file()
    copy = scratch.cache / "src" / "helm3-batch" / "cmd" / "helm"
    assert "func helmMain() {" in (copy / "helm.go").read_text(), "Helm's main renamed in the scratch copy"
    assert (copy / "zz_batch.go").read_text() == (ROOT / "tools" / "helm-batch" / "helm3" / "batch.go").read_text()
    assert any(c.startswith("build ") and "-tags helm3batch" in c for c in scratch.go_calls()), scratch.go_calls()
