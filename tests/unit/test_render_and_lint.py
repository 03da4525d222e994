"""Every ci/ scenario renders, passes `helm lint --strict` under each Helm major (Helm 4's is `ct lint`'s, in
test_chart_testing), and renders objects no other scenario renders (so that each scenario adds something to
every test that reads whole renders). That Helm 3 renders what Helm 4 renders, for these and every other
input, is checked in each render (harness.helm, test_helm_majors_agree)."""

from functools import partial
from itertools import combinations

import pytest

from harness.helm import comparable, lint, prefetch
from harness.scenarios import scenarios

pytestmark = pytest.mark.unit


@pytest.fixture(scope="session")
def linted(other_helm):
    """Every scenario linted by this major, two at a time; each test reads its own result."""
    prefetch(partial(lint, other_helm, s.path) for s in scenarios())


def test_every_scenario_renders_a_statefulset_and_both_services(every_scenario):
    for scenario, m in every_scenario:
        names = {(d["kind"], d["metadata"]["name"]) for d in m}
        sts = m.statefulset["metadata"]["name"]
        assert ("Service", sts) in names, f"{scenario.name}: no client Service {sts}"
        assert ("Service", f"{sts}-headless") in names, f"{scenario.name}: no headless Service"
        assert ("ConfigMap", f"{sts}-config") not in names, f"{scenario.name}: settings belong in the pod template"


def test_every_scenario_passes_helm_lint_strict(other_helm, scenario, linted):
    out = lint(other_helm, scenario.path)
    assert "0 chart(s) failed" in out, out


def test_every_object_is_in_the_release_namespace(every_scenario):
    for scenario, m in every_scenario:
        for doc in m:
            where = f"{scenario.name}: {doc['kind']}/{doc['metadata']['name']}"
            assert doc["metadata"].get("namespace") == "emqx", where


def test_namespace_override_moves_every_object_and_dns_name(template):
    m = template({"namespaceOverride": "brokers"})
    record_readers = [("Role", "emqx-ee-rollback-guard"), ("RoleBinding", "emqx-ee-rollback-guard")]
    in_release_namespace = []
    for doc in m:
        if doc["metadata"]["namespace"] == "emqx":
            in_release_namespace.append((doc["kind"], doc["metadata"]["name"]))
            continue
        assert doc["metadata"]["namespace"] == "brokers", f"{doc['kind']}/{doc['metadata']['name']}"
    # The identity record stays in the release namespace, where an upgrade finds it wherever the nodes moved;
    # the rollback guard reads it there (its Role on the StatefulSet moves with the nodes).
    assert in_release_namespace == [("ConfigMap", "emqx-ee-identity"), *record_readers], in_release_namespace
    assert sorted(r["metadata"]["namespace"] for r in m.of_kind("Role")) == ["brokers", "emqx"]
    assert m.settings()["EMQX_CLUSTER__DNS__NAME"] == "emqx-ee-headless.brokers.svc.cluster.local"


def test_every_pair_of_scenarios_renders_different_objects(every_scenario):
    """Two scenarios that render the same objects would check the same facts twice in every test that reads
    whole renders (Kubernetes schemas, kube-score, checkov, EMQX's schema, lint)."""
    objects = {s.name: comparable(m) for s, m in every_scenario}
    same = [(a, b) for a, b in combinations(objects, 2) if objects[a] == objects[b]]
    assert not same, f"scenarios that render the same objects: {same}"
