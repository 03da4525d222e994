"""Availability: PodDisruptionBudget, spreading across hosts, scheduling pass-through, resources."""

import pytest

from harness.query import jp1
from harness.scenarios import effective_values

pytestmark = pytest.mark.unit

LICENSED = {"license": {"key": "evaluation"}}
SELECTOR = {"app.kubernetes.io/name": "emqx-ee", "app.kubernetes.io/instance": "emqx-ee"}


def pod_spec(m):
    return m.statefulset["spec"]["template"]["spec"]


def test_pdb_exactly_when_more_than_one_node(every_scenario):
    """With the scenario's budget: maxUnavailable, or minAvailable when set (04 allows two nodes down)."""
    for scenario, m in every_scenario:
        pdb = m.maybe("PodDisruptionBudget", "emqx-ee")
        replicas = scenario.values.get("replicaCount", 1)
        assert (pdb is not None) == (replicas > 1), f"{scenario.name}: replicas={replicas}, PDB={pdb is not None}"
        if pdb:
            selector = m.statefulset["spec"]["selector"]["matchLabels"]
            assert pdb["spec"]["selector"]["matchLabels"] == selector, scenario.name
            budget = effective_values(scenario.values)["podDisruptionBudget"]
            key = "minAvailable" if budget["minAvailable"] != "" else "maxUnavailable"
            assert pdb["spec"] == {"selector": pdb["spec"]["selector"], key: budget[key]}, scenario.name


def test_pdb_limits(template):
    assert template({"replicaCount": 3, **LICENSED}).one("PodDisruptionBudget")["spec"] == {
        "maxUnavailable": 1,
        "selector": {"matchLabels": SELECTOR},
    }
    spec = template({"replicaCount": 3, **LICENSED, "podDisruptionBudget": {"minAvailable": "60%"}}).one(
        "PodDisruptionBudget"
    )["spec"]
    assert spec["minAvailable"] == "60%" and "maxUnavailable" not in spec
    assert (
        template({"replicaCount": 3, **LICENSED, "podDisruptionBudget": {"enabled": False}}).maybe(
            "PodDisruptionBudget"
        )
        is None
    )


def test_soft_anti_affinity_across_hosts_by_default(template):
    term = jp1(
        template().statefulset,
        "$.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0]",
    )
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert term["podAffinityTerm"]["labelSelector"]["matchLabels"] == SELECTOR


def test_hard_and_no_anti_affinity(template):
    hard = jp1(
        template({"podAntiAffinityPreset": "hard"}).statefulset,
        "$.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]",
    )
    assert hard["topologyKey"] == "kubernetes.io/hostname"
    assert "affinity" not in pod_spec(template({"podAntiAffinityPreset": "none"}))


def test_custom_affinity_replaces_the_preset(template):
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [{"key": "pool", "operator": "In", "values": ["mqtt"]}]}]
            }
        }
    }
    assert pod_spec(template({"affinity": affinity}))["affinity"] == affinity


def test_topology_spread_gets_the_selector_unless_given(template):
    spread = [
        {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway"},
        {
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"custom": "yes"}},
        },
    ]
    rendered = pod_spec(template({"topologySpreadConstraints": spread}))["topologySpreadConstraints"]
    assert rendered[0] == {**spread[0], "labelSelector": {"matchLabels": SELECTOR}}
    assert rendered[1] == spread[1]


def test_scheduling_values_pass_through(template):
    spec = pod_spec(
        template(
            {
                "nodeSelector": {"pool": "mqtt"},
                "priorityClassName": "brokers",
                "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
            }
        )
    )
    assert spec["nodeSelector"] == {"pool": "mqtt"}
    assert spec["priorityClassName"] == "brokers"
    assert spec["tolerations"] == [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}]


def test_resources_have_sane_defaults(every_scenario):
    for scenario, m in every_scenario:
        resources = jp1(m.statefulset, "$.spec.template.spec.containers[?name='emqx'].resources")
        assert resources["requests"]["memory"] and resources["requests"]["cpu"], scenario.name
        assert resources["limits"]["memory"], f"{scenario.name}: a memory limit keeps one broker from starving its node"
