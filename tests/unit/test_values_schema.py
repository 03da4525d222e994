"""values.yaml and values.schema.json agree: every key is in the strict schema, the schema accepts
the defaults, closes every object the chart owns, and every key carries a helm-docs comment."""

import json
import re

import jsonschema
import pytest
import yaml

from harness.scenarios import effective_values
from harness.tools import CHART

pytestmark = pytest.mark.unit

VALUES_TEXT = (CHART / "values.yaml").read_text()
VALUES = yaml.safe_load(VALUES_TEXT)
SCHEMA = json.loads((CHART / "values.schema.json").read_text())


def keys_missing_from_schema(values, schema, path=""):
    missing = []
    for key, value in values.items():
        here = f"{path}.{key}" if path else key
        props = schema.get("properties", {})
        if key not in props:
            if schema.get("additionalProperties") is False or "properties" in schema:
                missing.append(here)
            continue
        if isinstance(value, dict) and "properties" in props[key]:
            missing += keys_missing_from_schema(value, props[key], here)
    return missing


def open_objects(schema, path=""):
    """Objects with their own properties that still accept unknown keys."""
    found = []
    if "properties" in schema and schema.get("additionalProperties") is not False:
        found.append(path or "<root>")
    for key, sub in schema.get("properties", {}).items():
        found += open_objects(sub, f"{path}.{key}" if path else key)
    return found


def undocumented_keys(text):
    """Keys of values.yaml with no `# --` comment above them or above an enclosing key."""
    lines = text.splitlines()
    missing, stack, covered = [], [], None
    for index, line in enumerate(lines):
        match = re.match(r"^(\s*)([A-Za-z][\w-]*):(.*)$", line)
        if not match:
            continue
        indent, key, rest = len(match[1]), match[2], match[3].strip()
        stack = [(i, k) for i, k in stack if i < indent] + [(indent, key)]
        if covered is not None and indent > covered:
            continue
        covered = None
        comments = []
        j = index - 1
        while j >= 0 and lines[j].strip().startswith("#"):
            comments.append(lines[j].strip())
            j -= 1
        if any(c.startswith("# --") for c in comments):
            covered = indent
        elif rest:
            missing.append(".".join(k for _, k in stack))
    return missing


def test_every_values_key_is_in_the_schema():
    assert keys_missing_from_schema(VALUES, SCHEMA) == []


# Schema keys that are traps, not values: they exist so that the chart can refuse them with a reason.
TRAPS = {"autoscaling": "cores cannot autoscale; the chart explains why and points at replicants.autoscaling"}


def test_every_schema_key_is_in_values_yaml():
    assert sorted(set(SCHEMA["properties"]) - set(VALUES) - set(TRAPS)) == []
    assert not set(TRAPS) & set(VALUES)


def test_schema_accepts_the_default_values():
    jsonschema.Draft7Validator(SCHEMA).validate(VALUES)


def test_schema_accepts_every_scenario(scenario):
    errors = [e.message for e in jsonschema.Draft7Validator(SCHEMA).iter_errors(effective_values(scenario.values))]
    assert errors == [], f"values.schema.json refuses ci/{scenario.path.name}"


def test_schema_is_closed_on_every_object_the_chart_owns():
    assert open_objects(SCHEMA) == []


def test_every_value_is_documented_for_helm_docs():
    assert undocumented_keys(VALUES_TEXT) == []


def test_doc_checker_flags_a_key_without_comment():
    assert undocumented_keys("# -- fine\na: 1\nb: 2\nparent:\n  # -- ok\n  child: 1\n  bare: 2\n") == [
        "b",
        "parent.bare",
    ]
