#!/usr/bin/env python3
"""Generate charts/emqx-ee/values.schema.json from values.yaml, the one place where a value is declared.

    scripts/values_schema.py           # write charts/emqx-ee/values.schema.json
    scripts/values_schema.py --check   # exit 1 when the committed schema differs from the generated one
    scripts/values_schema.py --compare OTHER.json
        # exit 1 and list the places where OTHER.json would accept or refuse other documents than the
        # generated schema (descriptions, key order and the order of `required`/`enum` lists left out)

Each key of values.yaml becomes a property of the schema:
- `# -- text` on the line above the key (helm-docs' comment, which also makes the chart README) is its
  `description`;
- `# @schema k: v, ...` lines above that comment hold its JSON Schema keywords as a YAML flow mapping
  (`# @schema minimum: 1, maximum: 65535`); several lines are merged in order. They must come before the
  `# --` line: helm-docs appends the comment lines that follow `# --` to the README description.
  `$ref: name` (or a list of names) merges the fragment charts/emqx-ee/schema/<name>.yaml first: the shapes
  the chart repeats (a listener, a probe, an Ingress, a NetworkPolicy peer list) and the cross-field rules
  of an object, each commented there. The fragment is inlined, not referenced: under draft-07 a `$ref`
  hides every keyword beside it, and each use keeps its own descriptions;
- `type` defaults to the type of the default value (a null default needs an explicit type);
- a map with keys in values.yaml is closed (`additionalProperties: false`) and lists those keys as
  properties, unless it says `additionalProperties: true` (a Kubernetes object passed through, such as
  `resources`: its default keys are examples, not the schema). An empty map `{}` is an open object unless
  annotated; list defaults are never read for `items`.
The root starts from the fragment `root` (draft, title, the rules across top-level keys).

Keys are found by indentation, so values.yaml keeps two-space indentation and one key per line.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "charts" / "emqx-ee"
VALUES = CHART / "values.yaml"
FRAGMENTS = CHART / "schema"
SCHEMA = CHART / "values.schema.json"

KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.-]+):(\s|$)")
DOC = re.compile(r"^ *# -- (?P<text>.*)$")
ANNOTATION = re.compile(r"^ *# @schema (?P<text>.*)$")
COMMENT = re.compile(r"^ *#(?P<text>.*)$")

Path_ = tuple[str, ...]

FIRST = ("$schema", "title", "type", "description")
SUBSCHEMA_MAPS = ("properties", "patternProperties", "definitions")
SUBSCHEMAS = ("items", "additionalProperties", "contains", "not", "if", "then", "else")
SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf")


class SchemaSourceError(ValueError):
    """values.yaml or a fragment says something the generator cannot turn into a schema."""


def parse_comments(text: str) -> tuple[dict[Path_, str], dict[Path_, dict[str, Any]]]:
    """(path of keys) -> `# --` description, and (path of keys) -> merged `# @schema` keywords."""
    docs: dict[Path_, str] = {}
    annotations: dict[Path_, dict[str, Any]] = {}
    stack: list[tuple[int, str]] = []
    doc: str | None = None
    pending: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if match := ANNOTATION.match(line):
            if doc is not None:
                raise SchemaSourceError(
                    f"values.yaml:{number}: `# @schema` must come before the `# --` line (helm-docs would print it)"
                )
            pending.append((number, match.group("text")))
            continue
        if match := DOC.match(line):
            doc = match.group("text").strip()
            continue
        if match := COMMENT.match(line):
            if doc is not None:  # helm-docs continues a description on the comment lines that follow it
                doc = f"{doc} {match.group('text').strip()}".strip()
            continue
        key = KEY.match(line)
        if not key:
            if line.strip():  # a list item or a value line: the comments above did not belong to a key
                doc, pending = None, []
            continue
        indent = len(key.group("indent"))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key.group("key")))
        path = tuple(k for _, k in stack)
        if doc is not None:
            docs[path] = doc
        if pending:
            merged: dict[str, Any] = {}
            for at, fragment in pending:
                try:
                    keywords = yaml.safe_load("{" + fragment + "}")
                except yaml.YAMLError as err:
                    raise SchemaSourceError(
                        f"values.yaml:{at}: `# @schema {fragment}` is not a YAML mapping: {err}"
                    ) from err
                merged = merge(merged, keywords)
            annotations[path] = merged
        doc, pending = None, []
    return docs, annotations


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` on top of `base`: maps merge key by key, anything else (lists included) is replaced."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def fragment(name: str, fragments: Path) -> dict[str, Any]:
    path = fragments / f"{name}.yaml"
    if not path.is_file():
        raise SchemaSourceError(f"$ref: {name}: no fragment {path.relative_to(ROOT)}")
    loaded = yaml.safe_load(path.read_text())
    if not isinstance(loaded, dict):
        raise SchemaSourceError(f"{path.relative_to(ROOT)} is not a schema (a YAML mapping)")
    return expand(loaded, fragments)


def expand(schema: Any, fragments: Path) -> Any:
    """`schema` with every `$ref` name, its own and its subschemas', replaced by the fragment: the fragment is
    merged first and the keywords beside `$ref` on top."""
    if not isinstance(schema, dict):
        return schema
    refs = schema.get("$ref", [])
    out: dict[str, Any] = {}
    for name in [refs] if isinstance(refs, str) else refs:
        out = merge(out, fragment(name, fragments))
    return merge(out, walk({k: v for k, v in schema.items() if k != "$ref"}, lambda sub: expand(sub, fragments)))


JSON_TYPES = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (dict, "object"),
    (list, "array"),
)


def default_type(path: Path_, value: Any) -> str:
    for python_type, json_type in JSON_TYPES:
        if isinstance(value, python_type):
            return json_type
    raise SchemaSourceError(f"{'.'.join(path)}: a null default needs `# @schema type: [...]`")


class Generator:
    def __init__(self, values_text: str, fragments: Path = FRAGMENTS) -> None:
        self.defaults = yaml.safe_load(values_text)
        self.docs, self.annotations = parse_comments(values_text)
        self.fragments = fragments
        self.used: set[Path_] = set()

    def schema(self) -> dict[str, Any]:
        root = self.node((), self.defaults, fragment("root", self.fragments))
        for path in sorted(set(self.docs) | set(self.annotations)):
            if path not in self.used:
                raise SchemaSourceError(
                    f"values.yaml documents or annotates {'.'.join(path)}, which is no key of a map the schema "
                    "lists (inside a list, or under a map marked `additionalProperties: true`)"
                )
        return ordered(root)

    def node(self, path: Path_, default: Any, base: dict[str, Any]) -> dict[str, Any]:
        self.used.add(path)
        schema = merge(base, expand(self.annotations.get(path, {}), self.fragments))
        if "type" not in schema:
            schema["type"] = default_type(path, default)
        if isinstance(default, dict) and default and schema.get("additionalProperties") is not True:
            properties = schema.setdefault("properties", {})
            for key, value in default.items():
                properties[key] = self.node((*path, key), value, properties.get(key, {}))
            schema.setdefault("additionalProperties", False)
        if path in self.docs:
            schema["description"] = self.docs[path]
        return schema


def walk(schema: dict[str, Any], change: Callable[[Any], Any]) -> dict[str, Any]:
    """`schema` with `change` applied to each of its direct subschemas (JSON Schema draft-07 keywords)."""
    out = {}
    for key, value in schema.items():
        if key in SUBSCHEMA_MAPS:
            value = {name: change(sub) for name, sub in value.items()}
        elif key in SUBSCHEMAS:
            value = change(value)
        elif key in SUBSCHEMA_LISTS:
            value = [change(sub) for sub in value]
        out[key] = value
    return out


def ordered(schema: Any) -> Any:
    """The same schema with `$schema`, `title`, `type` and `description` first in every object."""
    if not isinstance(schema, dict):
        return schema
    return walk({k: schema[k] for k in FIRST if k in schema} | schema, ordered)


ANNOTATIONS = ("description", "title", "$schema", "$comment")
UNORDERED = ("required", "enum")


def validating(schema: Any) -> Any:
    """What of `schema` decides which documents it accepts: no annotations, no `additionalProperties: true`
    (the default), `required`, `enum` and `type` lists in a fixed order."""
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in walk(schema, validating).items():
        if key in ANNOTATIONS or (key == "additionalProperties" and value is True):
            continue
        if key in UNORDERED or (key == "type" and isinstance(value, list)):
            value = sorted(value, key=json.dumps)
        out[key] = value
    return out


def differences(before: Any, after: Any, at: str = "#") -> list[str]:
    """Where two schemas reduced by validating() differ, as JSON pointers into them."""
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in sorted(set(before) | set(after)):
            if key not in after:
                found.append(f"{at}/{key}: only in the other schema: {json.dumps(before[key])[:160]}")
            elif key not in before:
                found.append(f"{at}/{key}: only in the generated schema: {json.dumps(after[key])[:160]}")
            else:
                found += differences(before[key], after[key], f"{at}/{key}")
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [d for i, (b, a) in enumerate(zip(before, after, strict=True)) for d in differences(b, a, f"{at}/{i}")]
    return [] if before == after else [f"{at}: {json.dumps(before)[:160]} in the other, {json.dumps(after)[:160]} here"]


def generate(values_text: str | None = None, fragments: Path = FRAGMENTS) -> str:
    """The text of values.schema.json for `values_text` (default: charts/emqx-ee/values.yaml)."""
    schema = Generator(VALUES.read_text() if values_text is None else values_text, fragments).schema()
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    try:
        text = generate()
    except SchemaSourceError as err:
        print(f"values_schema: {err}", file=sys.stderr)
        return 2
    if sys.argv[1:2] == ["--compare"] and len(sys.argv) == 3:
        other = json.loads(Path(sys.argv[2]).read_text())
        found = differences(validating(other), validating(json.loads(text)))
        print("\n".join(found) or f"{sys.argv[2]} accepts and refuses the same documents as the generated schema")
        return 1 if found else 0
    if "--check" in sys.argv[1:]:
        if SCHEMA.read_text() != text:
            print(
                f"{SCHEMA.relative_to(ROOT)} is stale: run scripts/values_schema.py (or scripts/docs.sh)",
                file=sys.stderr,
            )
            return 1
        return 0
    SCHEMA.write_text(text)
    print(f"wrote {SCHEMA.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
