"""Replicant nodes: a stateless Deployment beside the core StatefulSet, joining its cluster through the same
discovery, named by pod IP, never selected by the cores' selector, Services or budget; autoscaled only there."""

import pytest

from harness.helm import HelmError
from harness.query import env_value, jp1
from harness.scenarios import effective_values

pytestmark = pytest.mark.unit

REPLICANTS = {"replicaCount": 3, "license": {"key": "evaluation"}, "replicants": {"enabled": True}}
AUTOSCALED = {**REPLICANTS, "replicants": {"enabled": True, "autoscaling": {"enabled": True}}}


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def test_no_replicant_objects_by_default(template):
    m = template()
    assert m.maybe("Deployment") is None and m.maybe("HorizontalPodAutoscaler") is None
    assert [p["metadata"]["name"] for p in m.of_kind("PodDisruptionBudget")] == []


def test_replicants_are_stateless_replicant_nodes_named_by_pod_ip(template):
    m = template(REPLICANTS)
    deployment = m.one("Deployment", "emqx-ee-replicant")
    assert deployment["spec"]["replicas"] == 2
    assert env_value(deployment, "EMQX_NODE__ROLE")["value"] == "replicant"
    assert env_value(deployment, "EMQX_HOST")["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    assert env_value(deployment, "EMQX_NAME")["value"] == env_value(m.statefulset, "EMQX_NAME")["value"], (
        "EMQX's discovery prefixes the cores' SRV hosts with the replicant's own node-name prefix"
    )
    data = jp1(deployment, "$.spec.template.spec.volumes[?name='emqx-data']")
    assert "emptyDir" in data and "volumeClaimTemplates" not in deployment["spec"]
    assert "EMQX_NODE__ROLE" not in [
        e["name"] for e in m.statefulset["spec"]["template"]["spec"]["containers"][0]["env"]
    ]


def test_replicants_share_the_cores_config_and_credentials(template):
    m = template(REPLICANTS)
    deployment, sts = m.one("Deployment"), m.statefulset
    for name in ("EMQX_NODE__COOKIE", "EMQX_DASHBOARD__DEFAULT_PASSWORD", "EMQX_LICENSE__KEY"):
        assert env_value(deployment, name) == env_value(sts, name), name
    replicant, core = m.settings("Deployment"), m.settings("StatefulSet")
    assert replicant.pop("EMQX_NODE__ROLE") == "replicant" and core.pop("EMQX_HOST")
    assert replicant == core, "apart from the role and the host, replicants run with the cores' settings"
    annotations = "$.spec.template.metadata.annotations"
    assert jp1(deployment, annotations) == jp1(sts, annotations), "a config or license change rolls both"


def test_core_and_replicant_selectors_never_overlap(template):
    m = template(REPLICANTS)
    deployment, sts = m.one("Deployment"), m.statefulset
    core_pod, replicant_pod = (
        sts["spec"]["template"]["metadata"]["labels"],
        deployment["spec"]["template"]["metadata"]["labels"],
    )
    assert matches(deployment["spec"]["selector"]["matchLabels"], replicant_pod)
    assert not matches(sts["spec"]["selector"]["matchLabels"], replicant_pod), "the StatefulSet would claim replicants"
    assert not matches(deployment["spec"]["selector"]["matchLabels"], core_pod)
    core_pdb = m.one("PodDisruptionBudget", "emqx-ee")
    assert not matches(core_pdb["spec"]["selector"]["matchLabels"], replicant_pod)
    headless = m.one("Service", "emqx-ee-headless")["spec"]["selector"]
    assert matches(headless, core_pod) and not matches(headless, replicant_pod), "discovery must find cores only"
    assert matches(m.one("Service", "emqx-ee-dashboard")["spec"]["selector"], core_pod)


@pytest.mark.parametrize(("serve", "role"), [(True, "replicant"), (False, "core")])
def test_client_service_routes_to_replicants_or_cores(template, serve, role):
    m = template({**REPLICANTS, "replicants": {"enabled": True, "serveClients": serve}})
    selector = m.one("Service", "emqx-ee")["spec"]["selector"]
    target = m.one("Deployment") if role == "replicant" else m.statefulset
    assert selector == target["spec"]["selector"]["matchLabels"]


def test_autoscaler_drives_the_replicant_deployment(template):
    m = template(
        {
            **AUTOSCALED,
            "replicants": {
                "enabled": True,
                "autoscaling": {
                    "enabled": True,
                    "minReplicas": 3,
                    "maxReplicas": 9,
                    "targetMemoryUtilizationPercentage": 80,
                },
            },
        }
    )
    hpa = m.one("HorizontalPodAutoscaler", "emqx-ee-replicant")["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "emqx-ee-replicant"}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 9)
    assert {x["resource"]["name"]: x["resource"]["target"]["averageUtilization"] for x in hpa["metrics"]} == {
        "cpu": 70,
        "memory": 80,
    }
    assert m.one("Deployment")["spec"]["replicas"] == 3, "without a live Deployment: the HPA's minimum"


def test_every_autoscaled_scenario_gets_its_autoscaler(every_scenario):
    """minReplicas, maxReplicas, CPU (and memory) targets and behavior as the scenario sets them (12)."""
    for scenario, m in every_scenario:
        replicants = effective_values(scenario.values)["replicants"]
        auto = replicants["autoscaling"]
        hpa = m.maybe("HorizontalPodAutoscaler", "emqx-ee-replicant")
        assert (hpa is not None) == (replicants["enabled"] and auto["enabled"]), scenario.name
        if hpa:
            spec = hpa["spec"]
            assert (spec["minReplicas"], spec["maxReplicas"]) == (auto["minReplicas"], auto["maxReplicas"])
            targets = {x["resource"]["name"]: x["resource"]["target"]["averageUtilization"] for x in spec["metrics"]}
            wanted = {
                "cpu": auto["targetCPUUtilizationPercentage"],
                "memory": auto["targetMemoryUtilizationPercentage"],
            }
            assert targets == {k: v for k, v in wanted.items() if v is not None}, scenario.name
            assert spec.get("behavior", {}) == auto["behavior"], scenario.name


@pytest.mark.parametrize(
    ("replicants", "budget"),
    [
        ({"enabled": True, "replicaCount": 1}, False),
        ({"enabled": True, "replicaCount": 2}, True),
        ({"enabled": True, "replicaCount": 5, "autoscaling": {"enabled": True, "minReplicas": 1}}, False),
        ({"enabled": True, "replicaCount": 1, "autoscaling": {"enabled": True, "minReplicas": 2}}, True),
    ],
    ids=["one", "two", "hpa-min-one", "hpa-min-two"],
)
def test_replicant_budget_follows_the_least_number_that_runs(template, replicants, budget):
    m = template({**REPLICANTS, "replicants": replicants})
    assert (m.maybe("PodDisruptionBudget", "emqx-ee-replicant") is not None) == budget


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"autoscaling": {"enabled": True}}, "only replicant nodes can autoscale"),
        (
            {
                **REPLICANTS,
                "replicants": {"enabled": True, "autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}},
            },
            "replicants.autoscaling.maxReplicas=2 is below minReplicas=5",
        ),
        (
            {
                **REPLICANTS,
                "replicants": {
                    "enabled": True,
                    "autoscaling": {"enabled": True, "targetCPUUtilizationPercentage": None},
                },
            },
            "needs targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage",
        ),
    ],
    ids=["cores", "max-below-min", "no-target"],
)
def test_incoherent_autoscaling_is_refused(template, values, message):
    with pytest.raises(HelmError) as caught:
        template(values)
    assert message in caught.value.stderr, caught.value.stderr
