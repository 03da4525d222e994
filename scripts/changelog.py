#!/usr/bin/env python3
"""The `artifacthub.io/changes` annotation of charts/emqx-ee/Chart.yaml, generated from CHANGELOG.md.

    scripts/changelog.py             print the annotation for the Chart.yaml version
    scripts/changelog.py --write     put it into Chart.yaml (only that annotation's lines change)
    scripts/changelog.py --check     fail when Chart.yaml's annotation differs, or CHANGELOG.md has no
                                     section for the Chart.yaml version
    scripts/changelog.py --version V print the annotation for version V

CHANGELOG.md has one `## X.Y.Z` section per chart version, with `### Added` / `### Changed` /
`### Deprecated` / `### Removed` / `### Fixed` / `### Security` subsections (Artifact Hub's change kinds)
of one-line `- ` bullets.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CHANGELOG = ROOT / "CHANGELOG.md"
CHART_YAML = ROOT / "charts" / "emqx-ee" / "Chart.yaml"
ANNOTATION = "artifacthub.io/changes"
KINDS = ("added", "changed", "deprecated", "removed", "fixed", "security")


def sections(text: str) -> dict[str, list[dict[str, str]]]:
    """Every version of the changelog: version -> [{kind, description}] in file order."""
    found: dict[str, list[dict[str, str]]] = {}
    version, kind = None, None
    for number, line in enumerate(text.splitlines(), 1):
        if m := re.match(r"^## (\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)\s*$", line):
            version, kind = m.group(1), None
            if version in found:
                raise ValueError(f"CHANGELOG.md:{number}: version {version} appears twice")
            found[version] = []
        elif m := re.match(r"^### (\w+)\s*$", line):
            kind = m.group(1).lower()
            if version is None or kind not in KINDS:
                raise ValueError(
                    f"CHANGELOG.md:{number}: '{line}' is not one of ### {', '.join(KINDS)} under a version"
                )
        elif line.startswith("- ") and version is not None:
            if kind is None:
                raise ValueError(f"CHANGELOG.md:{number}: bullet outside a ### kind subsection")
            found[version].append({"kind": kind, "description": line[2:].strip()})
        elif line.startswith("  ") and version is not None and line.strip():
            raise ValueError(f"CHANGELOG.md:{number}: keep each change on one line")
    for version, changes in found.items():
        if not changes:
            raise ValueError(f"CHANGELOG.md: version {version} lists no changes")
    return found


def chart_version() -> str:
    return yaml.safe_load(CHART_YAML.read_text())["version"]


def annotation(version: str) -> str:
    """The annotation's value (a YAML list of {kind, description}) for `version`."""
    changes = sections(CHANGELOG.read_text())
    if version not in changes:
        raise ValueError(f"CHANGELOG.md has no '## {version}' section for chart version {version}")
    return yaml.safe_dump(changes[version], sort_keys=False, width=10_000, allow_unicode=True)


def write(value: str) -> bool:
    """Replace the annotation's block in Chart.yaml (appending it to `annotations:` when absent)."""
    lines = CHART_YAML.read_text().splitlines(keepends=True)
    block = [f"  {ANNOTATION}: |\n"] + [f"    {line}\n" for line in value.splitlines()]
    start = next((i for i, line in enumerate(lines) if line.startswith(f"  {ANNOTATION}:")), None)
    if start is None:
        at = next((i for i, line in enumerate(lines) if line.rstrip() == "annotations:"), None)
        if at is None:
            lines += ["annotations:\n", *block]
        else:
            lines[at + 1 : at + 1] = block
    else:
        end = start + 1
        while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
            end += 1
        lines[start:end] = block
    new = "".join(lines)
    changed = new != CHART_YAML.read_text()
    if changed:
        CHART_YAML.write_text(new)
    return changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="update Chart.yaml")
    mode.add_argument("--check", action="store_true", help="fail when Chart.yaml is stale")
    parser.add_argument("--version", help="chart version (default: the one in Chart.yaml)")
    args = parser.parse_args()
    version = args.version or chart_version()
    try:
        value = annotation(version)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.write:
        changed = write(value)
        print(f"{'updated' if changed else 'unchanged'}: {ANNOTATION} of {CHART_YAML.relative_to(ROOT)} ({version})")
    elif args.check:
        current = (yaml.safe_load(CHART_YAML.read_text()).get("annotations") or {}).get(ANNOTATION)
        if current != value:
            print(
                f"error: {ANNOTATION} in {CHART_YAML.relative_to(ROOT)} does not match CHANGELOG.md's {version}"
                f" section; run scripts/changelog.py --write\n--- Chart.yaml\n{current}\n--- CHANGELOG.md\n{value}",
                file=sys.stderr,
            )
            return 1
        print(f"{ANNOTATION} matches CHANGELOG.md ({version})")
    else:
        sys.stdout.write(value)
    return 0


if __name__ == "__main__":
    sys.exit(main())
