"""Every value is documented once, by its `# --` comment in values.yaml: helm-docs makes the chart README from
it (test_docs.py) and scripts/schema_docs.py writes it into values.schema.json as the description."""

import importlib.util
import json
import shutil

import pytest

from harness.tools import CHART, ROOT

pytestmark = pytest.mark.unit


def load_script():
    spec = importlib.util.spec_from_file_location("schema_docs", ROOT / "scripts" / "schema_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_schema_descriptions_are_the_values_comments():
    docs = load_script()
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert docs.apply(schema) == [], "run scripts/schema_docs.py"
    found = docs.documented_paths()
    assert len(found) > 150 and ("persistence", "size") in found
    assert docs.schema_node(schema, ("persistence", "size"))["description"] == found[("persistence", "size")]


def test_a_changed_comment_without_regeneration_is_caught(tmp_path, monkeypatch):
    docs = load_script()
    values = tmp_path / "values.yaml"
    shutil.copy(CHART / "values.yaml", values)
    lines = values.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("replicaCount:"))
    assert lines[index - 1].startswith("# -- "), "replicaCount is documented"
    lines[index - 1] = "# -- A changed description."
    values.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(docs, "VALUES", values)
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert docs.apply(schema) == ["replicaCount"]
    assert schema["properties"]["replicaCount"]["description"] == "A changed description."


def test_a_documented_value_the_schema_lacks_is_an_error(tmp_path, monkeypatch):
    docs = load_script()
    values = tmp_path / "values.yaml"
    values.write_text((CHART / "values.yaml").read_text() + "\n# -- Not in the schema.\nundeclared: 1\n")
    monkeypatch.setattr(docs, "VALUES", values)
    with pytest.raises(KeyError, match="undeclared"):
        docs.apply(json.loads((CHART / "values.schema.json").read_text()))
