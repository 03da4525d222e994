"""Ordered or parallel rollout, partitioned updates and lifecycle settings of the StatefulSet."""

import pytest

from harness.query import jp_all

pytestmark = pytest.mark.unit

LICENSED = {"license": {"key": "evaluation"}}


def test_parallel_rollout_by_default(template):
    spec = template().statefulset["spec"]
    assert spec["podManagementPolicy"] == "Parallel"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["replicas"] == 1


def test_every_scenario_gets_its_policy_and_replicas(every_scenario):
    for scenario, m in every_scenario:
        spec = m.statefulset["spec"]
        assert spec["podManagementPolicy"] == scenario.values.get("podManagementPolicy", "Parallel"), scenario.name
        assert spec["replicas"] == scenario.values.get("replicaCount", 1), scenario.name


def test_partition_canaries_the_highest_ordinals(template):
    spec = template({"replicaCount": 5, **LICENSED, "updateStrategy": {"rollingUpdate": {"partition": 3}}}).statefulset[
        "spec"
    ]
    assert spec["updateStrategy"]["rollingUpdate"]["partition"] == 3


def test_on_delete_strategy_has_no_rolling_update_block(template):
    spec = template({"updateStrategy": {"type": "OnDelete"}}).statefulset["spec"]
    assert spec["updateStrategy"] == {"type": "OnDelete"}


def test_lifecycle_settings(template):
    sts = template({"minReadySeconds": 30, "terminationGracePeriodSeconds": 120, "revisionHistoryLimit": 3}).statefulset
    assert sts["spec"]["minReadySeconds"] == 30
    assert sts["spec"]["revisionHistoryLimit"] == 3
    assert sts["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 120


def test_no_version_in_claim_templates(every_scenario):
    """volumeClaimTemplates are immutable: a label that changes per release would break upgrades."""
    for scenario, m in every_scenario:
        for claim in jp_all(m.statefulset, "$.spec.volumeClaimTemplates[*]"):
            labels = claim["metadata"].get("labels", {})
            assert "helm.sh/chart" not in labels and "app.kubernetes.io/version" not in labels, (
                f"{scenario.name}: {labels}"
            )
