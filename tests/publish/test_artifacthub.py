"""Artifact Hub metadata in the documented format (https://artifacthub.io/docs/topics/annotations/helm/ and
the repository file artifacthub-repo.yml): what Artifact Hub's `ah lint` would check, which is not served
here. `artifacthub.io/changes` is exactly what scripts/changelog.py makes of CHANGELOG.md; the images are
those the chart runs."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from typing import Any

import jsonschema
import pytest
import yaml

from harness.tools import CHART, ROOT

pytestmark = pytest.mark.publish

KINDS = ["added", "changed", "deprecated", "removed", "fixed", "security"]
HTTP_URL = {"type": "string", "pattern": r"^https?://\S+$"}
NAME_URL = {
    "type": "object",
    "required": ["name", "url"],
    "properties": {"name": {"type": "string", "minLength": 1}, "url": HTTP_URL},
    "additionalProperties": False,
}
BOOL_STRING = {"type": "string", "enum": ["true", "false"]}

# Each annotation value is a string; those holding YAML are decoded and checked against these schemas.
ANNOTATION_SCHEMAS: dict[str, dict[str, Any]] = {
    "artifacthub.io/changes": {
        "type": "array",
        "minItems": 1,
        "items": {
            "type": "object",
            "required": ["kind", "description"],
            "properties": {
                "kind": {"enum": KINDS},
                "description": {"type": "string", "minLength": 1},
                "links": {"type": "array", "items": NAME_URL},
            },
            "additionalProperties": False,
        },
    },
    "artifacthub.io/images": {
        "type": "array",
        "minItems": 1,
        "items": {
            "type": "object",
            "required": ["name", "image"],
            "properties": {
                "name": {"type": "string", "minLength": 1},
                # A pinned reference: a tag other than latest, or a digest (images on latest are not scanned).
                "image": {"type": "string", "pattern": r"^[a-z0-9./_-]+(:(?!latest$)[\w.-]+|@sha256:[0-9a-f]{64})$"},
                "whitelisted": {"type": "boolean"},
                "platforms": {"type": "array", "items": {"type": "string"}},
            },
            "additionalProperties": False,
        },
    },
    "artifacthub.io/links": {"type": "array", "minItems": 1, "items": NAME_URL},
    "artifacthub.io/signKey": {
        "type": "object",
        "required": ["fingerprint", "url"],
        "properties": {"fingerprint": {"type": "string", "pattern": "^[0-9A-F]{40}$"}, "url": HTTP_URL},
        "additionalProperties": False,
    },
}
SCALARS = {
    "artifacthub.io/prerelease": BOOL_STRING,
    "artifacthub.io/containsSecurityUpdates": BOOL_STRING,
    # An SPDX identifier (simple expressions only).
    "artifacthub.io/license": {"type": "string", "pattern": r"^[A-Za-z0-9.+-]+( (AND|OR|WITH) [A-Za-z0-9.+-]+)*$"},
}
# signKey is added when the project has a release key (scripts/package.sh --sign); validated when present.
EXPECTED = {"artifacthub.io/changes", "artifacthub.io/images", "artifacthub.io/license", "artifacthub.io/links",
            "artifacthub.io/prerelease"}  # fmt: skip

REPO_FILE_SCHEMA = {
    "type": "object",
    "properties": {
        "repositoryID": {"type": "string", "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"},
        "owners": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["email"],
                "properties": {
                    "name": {"type": "string"},
                    "email": {"type": "string", "pattern": r"^[^@\s]+@[^@\s]+$"},
                },
                "additionalProperties": False,
            },
        },
        "ignore": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string"}, "version": {"type": "string"}},
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}


def chart_yaml() -> dict[str, Any]:
    return yaml.safe_load((CHART / "Chart.yaml").read_text())


def annotations() -> dict[str, str]:
    return chart_yaml().get("annotations") or {}


def test_chart_has_the_annotations_users_expect():
    missing = EXPECTED - set(annotations())
    assert not missing, f"Chart.yaml annotations lack {sorted(missing)}"
    assert all(isinstance(v, str) for v in annotations().values()), "Helm annotations are strings"


@pytest.mark.parametrize("name", sorted(set(ANNOTATION_SCHEMAS) & set(annotations())))
def test_yaml_annotation_has_the_documented_format(name):
    value = yaml.safe_load(annotations()[name])
    jsonschema.validate(value, ANNOTATION_SCHEMAS[name])


def test_sign_key_format_for_when_a_release_key_exists():
    """signKey is left out until the project has a release key; the check that will apply then must bite."""
    schema = ANNOTATION_SCHEMAS["artifacthub.io/signKey"]
    jsonschema.validate(
        {"fingerprint": "0123456789ABCDEF0123456789ABCDEF01234567", "url": "https://x.test/k.asc"}, schema
    )
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"fingerprint": "0123456789ABCDEF0123456789ABCDEF01234567"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"fingerprint": "not-hex", "url": "https://x.test/k.asc"}, schema)


def test_scalar_annotations_have_the_documented_format():
    for name, schema in SCALARS.items():
        if name in annotations():  # containsSecurityUpdates is optional
            jsonschema.validate(annotations()[name], schema)


def test_prerelease_matches_the_version():
    is_pre = "-" in chart_yaml()["version"]
    assert annotations()["artifacthub.io/prerelease"] == str(is_pre).lower(), "prerelease follows the SemVer suffix"


def test_changes_are_generated_from_the_changelog():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "changelog.py"), "--check"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    generated = subprocess.run([sys.executable, str(ROOT / "scripts" / "changelog.py")], capture_output=True, text=True,
                               check=True).stdout  # fmt: skip
    assert annotations()["artifacthub.io/changes"] == generated


def test_changelog_has_every_chart_version_from_git_history():
    """Every version Chart.yaml ever had (committed or in the working tree) has a CHANGELOG.md section."""
    spec = importlib.util.spec_from_file_location("changelog", ROOT / "scripts" / "changelog.py")
    changelog = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(changelog)

    log = subprocess.run(["git", "-C", str(ROOT), "log", "--format=%H", "--", "charts/emqx-ee/Chart.yaml"],
                         capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    versions = {chart_yaml()["version"]}
    for commit in log:
        shown = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:charts/emqx-ee/Chart.yaml"],
                               capture_output=True, text=True, check=True).stdout  # fmt: skip
        versions.add(yaml.safe_load(shown)["version"])
    missing = versions - set(changelog.sections((ROOT / "CHANGELOG.md").read_text()))
    assert not missing, f"CHANGELOG.md has no section for chart versions {sorted(missing)}"


def test_images_are_the_ones_the_chart_runs():
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    app_version = chart_yaml()["appVersion"]
    expected = {
        f"{values['image']['repository']}:{values['image']['tag'] or app_version}",
        f"{values['tests']['image']['repository']}:{values['tests']['image']['tag']}",
    }
    listed = {i["image"] for i in yaml.safe_load(annotations()["artifacthub.io/images"])}
    assert listed == expected, f"artifacthub.io/images lists {sorted(listed)}, the chart runs {sorted(expected)}"


def test_repository_metadata_file_has_the_documented_format():
    data = yaml.safe_load((ROOT / "artifacthub-repo.yml").read_text())
    jsonschema.validate(data, REPO_FILE_SCHEMA)
    for entry in data.get("ignore", []):
        if "version" in entry:
            re.compile(entry["version"])  # Artifact Hub reads it as a regular expression
