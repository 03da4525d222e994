"""No tracked file keeps the markers of an unresolved merge: a conflict resolved in a hurry once left
`<<<<<<< HEAD` ... `>>>>>>> branch` in README.md, where users read it and no render or test noticed."""

from __future__ import annotations

import re
import subprocess

import pytest

from harness.tools import ROOT

pytestmark = pytest.mark.unit

# git's conflict markers start a line: seven of one sign, then a space and a name (or the bare separator).
MARKER = re.compile(r"^(<{7} |>{7} |\|{7} |={7}$)")


def tracked_text_files() -> list[str]:
    out = subprocess.run(
        ["git", "-C", str(ROOT), "grep", "-I", "-l", "-e", ""], capture_output=True, text=True, check=True
    ).stdout
    return out.split()


def test_no_tracked_file_holds_a_conflict_marker() -> None:
    found = [
        f"{name}:{number}: {line}"
        for name in tracked_text_files()
        for number, line in enumerate((ROOT / name).read_text(errors="replace").splitlines(), 1)
        if MARKER.match(line)
    ]
    assert not found, "unresolved merge conflicts:\n" + "\n".join(found)


@pytest.mark.parametrize("marker", ["<<<<<<< HEAD", ">>>>>>> drain", "=======", "||||||| base"])
def test_each_marker_is_seen(marker: str) -> None:
    assert MARKER.match(marker)


@pytest.mark.parametrize("line", ["<<<<<<<", "======= heading underline", "  >>>>>>> indented", "== x"])
def test_lines_that_only_look_alike_are_not(line: str) -> None:
    assert not MARKER.match(line)
