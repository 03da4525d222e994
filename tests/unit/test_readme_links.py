"""README.md stays a user's page, and the project's Markdown pages link to what exists.

Every relative link in README.md, CONTRIBUTING.md and docs/*.md names a file of the repository and, when it
has one, an anchor that a heading of the target page makes (GitHub's rule); every page under docs/ is linked
once from README.md; README.md stays under 250 lines and holds no commit hash or date (dated measurements live
in docs/benchmarks.md)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

import pytest

from harness.tools import ROOT

pytestmark = pytest.mark.unit

README = ROOT / "README.md"
PAGES = sorted([README, ROOT / "CONTRIBUTING.md", *(ROOT / "docs").glob("*.md")])
MAX_README_LINES = 250

FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"`[^`]*`")
# [text](target) and ![alt](target); the text may hold one level of brackets.
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
# A commit hash: 7 to 40 hex digits with at least one digit (so English words like "defaced" do not count).
COMMIT = re.compile(r"\b(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}\b")
MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
DATE = re.compile(
    rf"\b\d{{4}}-\d{{2}}-\d{{2}}\b"  # 2026-11-29
    rf"|\b\d{{1,2}}/\d{{1,2}}/\d{{2,4}}\b"  # 11/29/2026
    rf"|\b(?:{MONTHS})[a-z]*\.? \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}\b"  # November 29, 2026
    rf"|\b\d{{1,2}} (?:{MONTHS})[a-z]*\.? \d{{4}}\b"  # 29 November 2026
)


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks, with inline code spans blanked out."""
    out, fenced = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            out.append((number, CODE_SPAN.sub("``", line)))
    return out


def links(text: str) -> list[tuple[int, str]]:
    """(line number, target) of every Markdown link and image outside code."""
    return [(number, m.group(1)) for number, line in prose_lines(text) for m in LINK.finditer(line)]


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: its text lowercased, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link counts by its text
    text = text.replace("`", "").replace("*", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every anchor the headings of a page make, numbered as GitHub numbers repeated ones (-1, -2, ...)."""
    seen: dict[str, int] = {}
    out = set()
    fenced = False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        m = None if fenced else HEADING.match(line)
        if m:
            base = slug(m.group(2))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """What is wrong with the relative links of `page`: missing files and missing anchors."""
    problems = []
    for number, target in links(page.read_text()):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # https:, mailto:, ...
            continue
        path_part, _, anchor = target.partition("#")
        dest = (page.parent / unquote(path_part)).resolve() if path_part else page
        where = f"{page.relative_to(root)}:{number} -> {target}"
        if not dest.exists():
            problems.append(f"{where}: no such file")
        elif root.resolve() not in dest.parents and dest != root.resolve():
            problems.append(f"{where}: points outside the repository")
        elif anchor and dest.suffix == ".md" and unquote(anchor) not in anchors(dest.read_text()):
            problems.append(f"{where}: {dest.name} has no heading with anchor #{anchor}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_to_existing_files_and_anchors(page):
    assert page.exists(), f"{page.relative_to(ROOT)} is missing"
    problems = broken_links(page)
    assert not problems, "broken links:\n" + "\n".join(problems)


def test_every_docs_page_is_linked_once_from_the_readme():
    linked = Counter(
        (README.parent / target.partition("#")[0]).resolve()
        for _, target in links(README.read_text())
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) and not target.startswith("#")
    )
    counts = {p.name: linked[p.resolve()] for p in sorted((ROOT / "docs").glob("*.md"))}
    assert all(n == 1 for n in counts.values()), f"links from README.md to each docs page (want 1 each): {counts}"


def test_readme_stays_short():
    lines = len(README.read_text().splitlines())
    assert lines < MAX_README_LINES, (
        f"README.md has {lines} lines (limit {MAX_README_LINES}): "
        "move how the tests, tools and benchmarks work to docs/"
    )


def test_readme_holds_no_commit_hash_or_date():
    found = [
        f"README.md:{number}: {m.group(0)}"
        for number, line in enumerate(README.read_text().splitlines(), 1)
        for m in (*COMMIT.finditer(line), *DATE.finditer(line))
    ]
    assert not found, "README.md is undated (figures with dates and commits go to docs/benchmarks.md):\n" + "\n".join(
        found
    )


# The checks above must be able to fail: each is run on a page made to break it.


def test_link_check_finds_a_missing_file_and_a_missing_anchor(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# Title\n\n## Some `code`: here\n")
    page = tmp_path / "README.md"
    page.write_text(
        "[ok](docs/a.md) [ok](docs/a.md#some-code-here) [self](#top) ![img](docs/none.png)\n"
        "[bad](docs/a.md#nowhere) [web](https://example.com/x) `[code](not/checked.md)`\n"
        "```\n[fenced](not/checked.md)\n```\n# Top\n"
    )
    assert broken_links(page, tmp_path) == [
        "README.md:1 -> docs/none.png: no such file",
        "README.md:2 -> docs/a.md#nowhere: a.md has no heading with anchor #nowhere",
    ]


def test_anchors_follow_githubs_rule():
    text = "# The course: StatefulSets on this chart\n## GitOps: Argo CD, `helm template | kubectl apply`\n## A\n## A\n"
    assert anchors(text) == {
        "the-course-statefulsets-on-this-chart",
        "gitops-argo-cd-helm-template--kubectl-apply",
        "a",
        "a-1",
    }


@pytest.mark.parametrize(
    "line", ["at commit 4f91fc4", "on 2026-11-29", "on November 29, 2026", "on 29 Nov 2026", "since 11/29/2026"]
)
def test_hash_and_date_patterns_catch_what_readme_must_not_hold(line):
    assert COMMIT.search(line) or DATE.search(line), line


@pytest.mark.parametrize("line", ["a defaced facade", "port 18083 and 1883", "EMQX 6.2.2 on Kubernetes 1.27"])
def test_hash_and_date_patterns_spare_ordinary_text(line):
    assert not (COMMIT.search(line) or DATE.search(line)), line
