"""values.yaml is the one source of the values: scripts/values_schema.py generates values.schema.json from its
`# @schema` and `# --` comments and the fragments in charts/emqx-ee/schema/, and the committed schema is the
generated one (helm-docs makes the chart README from the same `# --` comments: test_docs.py)."""

import importlib.util
import json
import re

import jsonschema
import pytest

from harness.tools import CHART, ROOT

pytestmark = pytest.mark.unit

VALUES_TEXT = (CHART / "values.yaml").read_text()


def load_generator():
    spec = importlib.util.spec_from_file_location("values_schema", ROOT / "scripts" / "values_schema.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = load_generator()


def generated(text: str) -> dict:
    return json.loads(gen.generate(text))


def node(schema: dict, *path: str) -> dict:
    for key in path:
        schema = schema["properties"][key]
    return schema


def without_descriptions(schema):
    if isinstance(schema, dict):
        return {k: without_descriptions(v) for k, v in schema.items() if k != "description"}
    if isinstance(schema, list):
        return [without_descriptions(v) for v in schema]
    return schema


def test_committed_schema_is_the_generated_one():
    assert (CHART / "values.schema.json").read_text() == gen.generate(), "run scripts/docs.sh"


def test_every_description_is_its_values_comment():
    docs, _ = gen.parse_comments(VALUES_TEXT)
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert len(docs) > 150 and ("persistence", "size") in docs
    wrong = [".".join(path) for path, text in docs.items() if node(schema, *path).get("description") != text]
    assert wrong == []


def test_a_changed_comment_changes_its_description_only():
    text = VALUES_TEXT.replace(
        "# -- Number of EMQX nodes (pods", "# -- A changed description.\n# -- Number of EMQX nodes (pods", 1
    )
    lines = text.splitlines()
    index = lines.index("# -- A changed description.")
    del lines[index + 1]
    before, after = generated(VALUES_TEXT), generated("\n".join(lines) + "\n")
    assert node(after, "replicaCount")["description"] == "A changed description."
    assert without_descriptions(after) == without_descriptions(before)


def test_an_annotation_is_the_rule_of_its_value():
    """replicaCount's `# @schema minimum: 0` is what lets 0 through and refuses -1."""
    annotated = "# @schema minimum: 0\n# -- Number of EMQX nodes"
    assert annotated in VALUES_TEXT
    changed = generated(VALUES_TEXT.replace(annotated, "# @schema minimum: 1\n# -- Number of EMQX nodes", 1))
    assert node(changed, "replicaCount")["minimum"] == 1
    assert not jsonschema.Draft7Validator(changed).is_valid({"replicaCount": 0})
    assert jsonschema.Draft7Validator(generated(VALUES_TEXT)).is_valid({"replicaCount": 0})


@pytest.mark.parametrize(
    ("path", "name"),
    [
        (("networkPolicy", "clients", "from"), "peers"),
        (("networkPolicy", "dashboard", "from"), "peers"),
        (("networkPolicy", "metrics", "from"), "peers"),
        (("networkPolicy", "egress", "apiServer"), "peers"),
        (("ingress", "dashboard"), "ingress"),
        (("ingress", "ws"), "ingress"),
    ],
)
def test_a_fragment_is_inlined_at_each_use(path, name):
    """Inlined, not referenced: draft-07 ignores the keywords beside a `$ref`, and each use keeps its
    descriptions; the shape itself is the fragment's, keyword for keyword."""
    shape = gen.fragment(name, gen.FRAGMENTS)
    used = without_descriptions(node(json.loads((CHART / "values.schema.json").read_text()), *path))
    assert {k: v for k, v in used.items() if k in shape} == shape
    assert "$ref" not in json.dumps(used)


@pytest.mark.parametrize("listener", ["mqtt", "mqtts", "ws", "wss"])
def test_each_listener_has_the_listener_shape(listener):
    schema = node(json.loads((CHART / "values.schema.json").read_text()), "listeners", listener)
    assert schema["required"] == ["enabled", "containerPort", "proxyProtocol"]
    assert schema["properties"]["containerPort"]["maximum"] == 65535
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(
    "value", ["extraEnv", "extraVolumes", "extraVolumeMounts", "extraInitContainers", "extraContainers"]
)
def test_extension_point_items_need_a_name(value):
    schema = node(json.loads((CHART / "values.schema.json").read_text()), value)
    assert "name" in schema["items"]["required"]
    assert schema["items"]["properties"]["name"] == {"type": "string", "minLength": 1}


def test_a_new_value_needs_one_place():
    text = VALUES_TEXT + (
        "# @schema minimum: 1\n# -- A new count.\nnewCount: 3\n"
        "newBlock:\n  # @schema $ref: secret-name\n  # -- A new Secret.\n  existingSecret: ''\n"
        "# @schema additionalProperties: true\n# -- Passed through.\nnewObject:\n  someKey: 1\n"
    )
    schema = generated(text)
    assert node(schema, "newCount") == {"type": "integer", "description": "A new count.", "minimum": 1}
    block = node(schema, "newBlock")
    assert block["additionalProperties"] is False and list(block["properties"]) == ["existingSecret"]
    assert node(block, "existingSecret")["maxLength"] == 253
    assert node(schema, "newObject") == {
        "type": "object",
        "description": "Passed through.",
        "additionalProperties": True,
    }


@pytest.mark.parametrize(
    ("addition", "message"),
    [
        ("# -- Documented.\n# @schema minimum: 1\nlate: 1\n", "must come before the `# --` line"),
        ("# @schema $ref: no-such-fragment\n# -- Documented.\nunknownRef: ''\n", "no-such-fragment"),
        ("# @schema minimum: [\n# -- Documented.\nbroken: 1\n", "is not a YAML mapping"),
        ("# -- Documented.\nnothing: null\n", "nothing: a null default needs"),
        (
            "# -- Documented.\naList:\n  - name: x\n    # -- Inside a list.\n    item: 1\n",
            "aList.item, which is no key of a map the schema lists",
        ),
        (
            "# @schema additionalProperties: true\n# -- Open.\nopen:\n  # @schema minimum: 1\n  inner: 1\n",
            "open.inner, which is no key of a map the schema lists",
        ),
    ],
)
def test_a_source_the_generator_cannot_read_is_refused(addition, message):
    with pytest.raises(gen.SchemaSourceError, match=re.escape(message)):
        gen.generate(VALUES_TEXT + addition)


def test_check_mode_fails_on_a_stale_schema(tmp_path, monkeypatch):
    stale = tmp_path / "values.schema.json"
    stale.write_text(gen.generate().replace('"minimum": 30000', '"minimum": 1', 1))
    monkeypatch.setattr(gen, "SCHEMA", stale)
    monkeypatch.setattr(gen, "ROOT", tmp_path)
    monkeypatch.setattr("sys.argv", ["values_schema.py", "--check"])
    assert gen.main() == 1
    stale.write_text(gen.generate())
    assert gen.main() == 0


def test_compare_mode_finds_what_validates_differently(tmp_path, monkeypatch, capsys):
    """`--compare` tells whether a hand-written schema (another branch's) and the generated one accept the same
    documents: descriptions and the order of keys and of `required` lists do not count, a minimum does."""
    other = json.loads(gen.generate())
    other["properties"]["replicaCount"]["description"] = "Another text."
    other["properties"]["listeners"]["required"].reverse()
    other["properties"]["nameOverride"]["additionalProperties"] = True  # the default, said out loud
    path = tmp_path / "other.json"
    path.write_text(json.dumps(other))
    monkeypatch.setattr("sys.argv", ["values_schema.py", "--compare", str(path)])
    assert gen.main() == 0
    other["properties"]["service"]["properties"]["nodePorts"]["properties"]["mqtt"]["minimum"] = 1
    other["properties"]["tests"]["properties"]["image"]["required"] = ["repository"]
    path.write_text(json.dumps(other))
    capsys.readouterr()
    assert gen.main() == 1
    assert capsys.readouterr().out.splitlines() == [
        "#/properties/service/properties/nodePorts/properties/mqtt/minimum: 1 in the other, 30000 here",
        '#/properties/tests/properties/image/required: ["repository"] in the other, ["repository", "tag"] here',
    ]
