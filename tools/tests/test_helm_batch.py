"""helm-batch and helm3-batch, the render suite's Helm 4 and Helm 3 (tools/helm-batch: Helm's own command tree,
many requests per process), answer as the helm binaries do: the same objects for every scenario, and the same
exit code, output and words for what Helm refuses and for lint. Each comparison runs the helm binary as a
process of its own; each test runs under every major of --helm-majors. They ask each major alone
(`uncompared=True`): the render suite's comparison of Helm 3 with Helm 4 goes through the same programs."""

import json

import pytest
import yaml

from harness.helm import Manifests, batched, comparable, documents, helm_binary
from harness.tools import CHART

pytestmark = pytest.mark.unit

TEMPLATE = ["template", "emqx-ee", str(CHART), "--namespace", "emqx", "-f", "-"]


def tool_name(helm) -> str:
    return "helm" if helm.major == 4 else "helm3"


def both(helm, args: list[str], stdin: str = "") -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    """(the helm binary's answer, its batch program's answer) to `helm ARGS <stdin`."""
    binary = helm_binary([helm.path, *args], stdin, uncompared=True)
    return binary, batched(args, stdin, tool_name(helm), uncompared=True)


def objects(stdout: str) -> list:
    return comparable(Manifests(documents(stdout), "render"))


def test_every_scenario_renders_the_same_objects(helm, scenario):
    """Object for object; generated credentials and certificates, random in any two renders, by shape."""
    (binary, batch) = both(helm, [*TEMPLATE, "--kube-version", "1.33.0"], scenario.values_text)
    assert binary[0] == batch[0] == 0, batch[2]
    assert objects(batch[1]) == objects(binary[1])


REFUSED = {
    "schema": {"replicaCount": "3"},
    "fail": {"replicaCount": 3, "license": {"key": "e"}, "podDisruptionBudget": {"minAvailable": 3}},
    "unparsable": "replicaCount: [",
}


@pytest.mark.parametrize("values", REFUSED.values(), ids=list(REFUSED))
def test_refusals_have_the_same_exit_code_and_words(helm, values):
    stdin = values if isinstance(values, str) else json.dumps(values)
    binary, batch = both(helm, TEMPLATE, stdin)
    assert binary[0] != 0
    assert batch == binary


@pytest.mark.parametrize("values", ['{"license": {"key": "evaluation"}}', '{"replicaCount": "3"}'], ids=["ok", "bad"])
def test_lint_says_the_same(helm, values, tmp_path):
    path = tmp_path / "values.yaml"
    path.write_text(values)
    binary, batch = both(helm, ["lint", "--strict", str(CHART), "-f", str(path)])
    assert batch == binary


def test_no_global_flag_outlives_its_request(helm):
    """Helm keeps --namespace and the other global flags in package state: helm-batch restates --namespace
    for each request and refuses the others, so a request sees what a fresh helm process would."""
    code, _, stderr = batched(["template", "emqx-ee", str(CHART), "--debug"], "", tool_name(helm), uncompared=True)
    assert code == 2 and "--debug" in stderr
    code, _, stderr = batched(["version"], "", tool_name(helm), uncompared=True)
    assert code == 2 and "template and helm lint only" in stderr

    batched(["template", "emqx-ee", str(CHART), "--namespace", "elsewhere"], "", tool_name(helm), uncompared=True)
    args = ["template", "emqx-ee", str(CHART), "--show-only", "templates/service.yaml"]
    binary, batch = both(helm, args)
    assert batch == binary
    assert yaml.safe_load(batch[1])["metadata"]["namespace"] != "elsewhere"
