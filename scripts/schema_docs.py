#!/usr/bin/env python3
"""Document every value once: the `# --` comments of values.yaml are the source, and this script writes
them into values.schema.json as the `description` of the same paths (helm-docs turns the same comments
into the chart README). Only descriptions change; types, patterns, enums and closed objects stay as they are.

    scripts/schema_docs.py           # rewrite the descriptions in charts/emqx-ee/values.schema.json
    scripts/schema_docs.py --check   # exit 1 when a description differs from its values.yaml comment

A `# --` comment documents the key on the next line (helm-docs' convention); keys are found by their
indentation, so values.yaml keeps two-space indentation and one key per line.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VALUES = ROOT / "charts" / "emqx-ee" / "values.yaml"
SCHEMA = ROOT / "charts" / "emqx-ee" / "values.schema.json"
KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.-]+):(\s|$)")
DOC = re.compile(r"^ *# -- (?P<text>.*)$")


def documented_paths() -> dict[tuple[str, ...], str]:
    """(path of keys) -> its `# --` comment, for every documented key of values.yaml."""
    docs: dict[tuple[str, ...], str] = {}
    stack: list[tuple[int, str]] = []
    pending = None
    for line in VALUES.read_text().splitlines():
        if doc := DOC.match(line):
            pending = doc.group("text").strip()
            continue
        key = KEY.match(line)
        if not key:
            if line.strip() and not line.lstrip().startswith("#"):
                pending = None  # a list item or a value line: the comment did not document a key
            continue
        indent = len(key.group("indent"))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key.group("key")))
        if pending is not None:
            docs[tuple(k for _, k in stack)] = pending
            pending = None
    return docs


def schema_node(schema: dict, path: tuple[str, ...]) -> dict:
    node = schema
    for key in path:
        props = node.get("properties", {})
        if key not in props:
            raise KeyError(f"values.yaml documents {'.'.join(path)}, which values.schema.json does not define")
        node = props[key]
    return node


def apply(schema: dict) -> list[str]:
    """Write the descriptions into `schema`; the paths whose description changed."""
    changed = []
    for path, text in documented_paths().items():
        node = schema_node(schema, path)
        if node.get("description") != text:
            node["description"] = text
            changed.append(".".join(path))
    return changed


def main() -> int:
    schema = json.loads(SCHEMA.read_text())
    changed = apply(schema)
    if "--check" in sys.argv[1:]:
        if changed:
            print(
                "values.schema.json descriptions differ from values.yaml (run scripts/schema_docs.py):", file=sys.stderr
            )
            print("  " + "\n  ".join(changed), file=sys.stderr)
            return 1
        return 0
    SCHEMA.write_text(json.dumps(schema, indent=2) + "\n")
    print(f"updated {len(changed)} descriptions in {SCHEMA.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
