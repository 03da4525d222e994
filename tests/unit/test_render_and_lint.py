"""Every ci/ scenario renders and passes `helm lint --strict`, under each Helm major."""

import pytest

from harness.helm import lint

pytestmark = pytest.mark.unit


def test_every_scenario_renders_a_statefulset_and_both_services(manifests):
    names = {(d["kind"], d["metadata"]["name"]) for d in manifests}
    sts = manifests.statefulset["metadata"]["name"]
    assert ("Service", sts) in names, f"{manifests.source}: no client Service {sts}"
    assert ("Service", f"{sts}-headless") in names, f"{manifests.source}: no headless Service"
    assert ("ConfigMap", f"{sts}-config") in names, f"{manifests.source}: no ConfigMap"


def test_every_scenario_passes_helm_lint_strict(helm, scenario):
    out = lint(helm, scenario.path)
    assert "0 chart(s) failed" in out, out


def test_every_object_is_in_the_release_namespace(manifests):
    for doc in manifests:
        assert doc["metadata"].get("namespace") == "emqx", f"{doc['kind']}/{doc['metadata']['name']} namespace"


def test_namespace_override_moves_every_object_and_dns_name(template):
    m = template({"namespaceOverride": "brokers"})
    for doc in m:
        if doc["metadata"]["name"] == "emqx-ee-identity":
            continue  # stays in the release namespace, where an upgrade finds it wherever the nodes moved
        assert doc["metadata"]["namespace"] == "brokers", f"{doc['kind']}/{doc['metadata']['name']}"
    assert m.one("ConfigMap", "emqx-ee-identity")["metadata"]["namespace"] == "emqx"
    cm = m.one("ConfigMap", "emqx-ee-config")
    assert cm["data"]["EMQX_CLUSTER__DNS__NAME"] == "emqx-ee-headless.brokers.svc.cluster.local"
