"""Drain before stop and batch rolls, as rendered: the hook and boot step reach cores and replicants, the grace
period always covers the drain, and batch sizes stay within the PodDisruptionBudgets. The hook's behaviour is
tests/unit/test_drain_script.py; the live cluster's is tests/smoke/test_batch_rolls.py."""

from __future__ import annotations

import pytest

from harness.helm import HelmError
from harness.query import jp1

pytestmark = pytest.mark.unit

LICENSED = {"license": {"key": "evaluation"}}
# The seconds the chart keeps for EMQX's own stop after the drain (templates/_drain.tpl).
EMQX_STOP = 30
EMQX_CONTAINER = '$.spec.template.spec.containers[?name="emqx"]'


def refused(template, values) -> str:
    with pytest.raises(HelmError) as err:
        template(values)
    return str(err.value)


def test_cores_and_replicants_get_the_same_hook_and_boot_step(template):
    m = template({**LICENSED, "replicants": {"enabled": True}})
    core = jp1(m.statefulset, EMQX_CONTAINER)
    replicant = jp1(m.one("Deployment"), EMQX_CONTAINER)
    assert core["lifecycle"] == replicant["lifecycle"]
    assert core["args"] == replicant["args"]
    assert core["lifecycle"]["preStop"]["exec"]["command"][:2] == ["sh", "-c"]


def test_every_scenario_gives_the_drain_its_grace_period(every_scenario):
    for scenario, m in every_scenario:
        g = scenario.values.get("gracefulShutdown", {})
        for workload in m.workloads():
            if workload["kind"] == "Job":
                continue
            spec = workload["spec"]["template"]["spec"]
            container = jp1(workload, EMQX_CONTAINER)
            if not g.get("enabled", True):
                assert "lifecycle" not in container, scenario.name
                continue
            command = container["lifecycle"]["preStop"]["exec"]["command"]
            timeout = int(command[command.index("--timeout") + 1])
            assert timeout == g.get("timeoutSeconds", 90), scenario.name
            assert spec["terminationGracePeriodSeconds"] >= timeout + EMQX_STOP, (
                f"{scenario.name}: {workload['kind']} grace {spec['terminationGracePeriodSeconds']} < {timeout}+30"
            )


def test_a_grace_period_shorter_than_the_drain_is_refused_with_the_arithmetic(template):
    message = refused(template, {"terminationGracePeriodSeconds": 100, "gracefulShutdown": {"timeoutSeconds": 80}})
    assert (
        "terminationGracePeriodSeconds=100 cannot cover the drain before stop: gracefulShutdown.timeoutSeconds=80 "
        "+ 30 s for EMQX's own stop = 110 s. Set terminationGracePeriodSeconds to at least 110" in message
    ), message


def test_the_exact_grace_period_and_a_drain_turned_off_are_accepted(template):
    sts = template({"terminationGracePeriodSeconds": 110, "gracefulShutdown": {"timeoutSeconds": 80}}).statefulset
    assert sts["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 110
    sts = template({"terminationGracePeriodSeconds": 10, "gracefulShutdown": {"enabled": False}}).statefulset
    assert sts["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 10


def test_a_deadline_within_the_health_check_wait_is_refused(template):
    message = refused(template, {"gracefulShutdown": {"timeoutSeconds": 5, "waitHealthCheck": 5}})
    assert "gracefulShutdown.timeoutSeconds=5 ends the drain before the first client leaves" in message, message


@pytest.mark.parametrize(
    "values, expected",
    [
        ({"gracefulShutdown": {"connEvictRate": 0}}, "gracefulShutdown/connEvictRate"),
        ({"gracefulShutdown": {"waitTakeover": 0}}, "gracefulShutdown/waitTakeover"),
        ({"gracefulShutdown": {"drainRate": 5}}, "drainRate"),
        ({"updateStrategy": {"rollingUpdate": {"maxUnavailable": 0}}}, "rollingUpdate/maxUnavailable"),
        ({"updateStrategy": {"rollingUpdate": {"maxUnavailable": "0%"}}}, "rollingUpdate/maxUnavailable"),
        ({"replicants": {"updateStrategy": {"rollingUpdate": {"maxSurge": -1}}}}, "maxSurge"),
    ],
)
def test_bad_drain_and_roll_values_are_refused_by_the_schema(template, values, expected):
    assert expected in refused(template, values)


def test_a_batch_roll_renders_max_unavailable(template):
    values = {**LICENSED, "replicaCount": 9, "podDisruptionBudget": {"maxUnavailable": 3}}
    sts = template({**values, "updateStrategy": {"rollingUpdate": {"maxUnavailable": 3}}}).statefulset
    assert sts["spec"]["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"partition": 0, "maxUnavailable": 3},
    }
    sts = template({**values, "updateStrategy": {"rollingUpdate": {"maxUnavailable": "33%"}}}).statefulset
    assert sts["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"] == "33%"


def test_a_batch_larger_than_the_disruption_budget_is_refused(template):
    message = refused(
        template, {**LICENSED, "replicaCount": 5, "updateStrategy": {"rollingUpdate": {"maxUnavailable": 3}}}
    )
    assert (
        "updateStrategy.rollingUpdate.maxUnavailable=3 would stop 3 of 5 cores at once in a roll, more than the "
        "PodDisruptionBudget allows (podDisruptionBudget.maxUnavailable=1 lets 1 of 5 go)" in message
    ), message


def test_percentages_scale_as_kubernetes_scales_them(template):
    """StatefulSet maxUnavailable rounds a percentage down (at least 1); a budget's rounds up
    (intstr.GetScaledValueFromIntOrPercent; pkg/controller/statefulset getStatefulSetMaxUnavailable)."""
    # 9 cores: 40% of a roll is 3 (3.6 down); a budget of 30% lets 3 go (2.7 up): accepted.
    base = {**LICENSED, "replicaCount": 9}
    template({**base, "updateStrategy": {"rollingUpdate": {"maxUnavailable": "40%"}},
              "podDisruptionBudget": {"maxUnavailable": "30%"}})  # fmt: skip
    # minAvailable 70% keeps 7 (6.3 up) of 9 up, so 2 may go: a batch of 3 is refused.
    message = refused(template, {**base, "updateStrategy": {"rollingUpdate": {"maxUnavailable": 3}},
                                 "podDisruptionBudget": {"minAvailable": "70%"}})  # fmt: skip
    assert "podDisruptionBudget.minAvailable=70% keeps 7 of 9 up" in message and "to 2" in message, message


def test_a_batch_without_a_budget_or_on_delete(template):
    values = {**LICENSED, "replicaCount": 5, "updateStrategy": {"rollingUpdate": {"maxUnavailable": 5}}}
    sts = template({**values, "podDisruptionBudget": {"enabled": False}}).statefulset
    assert sts["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"] == 5
    on_delete = {"type": "OnDelete", "rollingUpdate": {"maxUnavailable": 2}}
    message = refused(template, {**values, "podDisruptionBudget": {"enabled": False}, "updateStrategy": on_delete})
    assert "maxUnavailable applies to updateStrategy.type=RollingUpdate only" in message, message


def test_replicant_rolls_follow_their_values_and_budget(template):
    r = {"enabled": True, "replicaCount": 6, "podDisruptionBudget": {"maxUnavailable": 2}}
    roll = {"maxSurge": 3, "maxUnavailable": 2}
    m = template({**LICENSED, "replicants": {**r, "updateStrategy": {"rollingUpdate": roll}}})
    assert m.one("Deployment")["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": roll}
    message = refused(
        template, {**LICENSED, "replicants": {**r, "updateStrategy": {"rollingUpdate": {"maxUnavailable": 3}}}}
    )
    assert "replicants.updateStrategy.rollingUpdate.maxUnavailable=3 would stop 3 of 6 replicants" in message, message
    message = refused(template, {**LICENSED, "replicants": {**r, "updateStrategy": {"rollingUpdate": {"maxSurge": 0}}}})
    assert "maxSurge and maxUnavailable are both 0" in message, message


def test_every_drain_and_roll_problem_is_reported_at_once(template):
    message = refused(template, {**LICENSED, "replicaCount": 5, "terminationGracePeriodSeconds": 30,
                                 "updateStrategy": {"rollingUpdate": {"maxUnavailable": 4}}})  # fmt: skip
    assert "terminationGracePeriodSeconds=30" in message and "maxUnavailable=4" in message, message


def test_values_without_the_new_blocks_are_named_not_a_stack_trace(template):
    """`helm upgrade --reuse-values` from chart 0.3.0 brings 0.3.0's values, without the blocks 0.4.0 adds
    (null removes a key from the values in the same way)."""
    blocks = ("gracefulShutdown", "rollbackGuard", "emqxConfigCheck", "securityProfile", "mqttAuth")
    message = refused(template, {**dict.fromkeys(blocks), "replicants": {"updateStrategy": None}})
    lack = f"the values lack {', '.join(blocks)}, replicants.updateStrategy, which this chart"
    assert lack in message, message
    assert "--reset-then-reuse-values" in message and "nil pointer" not in message, message
