"""The `helm test` hook: a bare Pod (so `helm test --logs` prints it) that asks every node's stable DNS name for
/status, kept when it fails so its output can be read."""

import pytest

from harness.query import jp1

pytestmark = pytest.mark.unit


def test_hook_is_a_pod_that_checks_every_ordinal(template):
    m = template({"replicaCount": 3, "license": {"key": "evaluation"}})
    pod = m.one("Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert pod["spec"]["restartPolicy"] == "Never"
    script = jp1(pod, "$.spec.containers[0].args[0]")
    assert "seq 0 $((3 - 1))" in script
    assert "emqx-ee-$i.emqx-ee-headless.emqx.svc.cluster.local" in script
    assert ":18083/status" in script
    assert m.maybe("Job") is None, "helm test --logs reads the logs of Pod hooks only"


def test_the_test_pod_stays_for_its_logs_until_the_next_test(template):
    """Helm 3 deletes a hook-succeeded Pod before `helm test --logs` reads it (the command then fails on a
    passing test); a hook-failed policy would lose a failure's output. Only the next test replaces the Pod."""
    policy = template().one("Pod")["metadata"]["annotations"]["helm.sh/hook-delete-policy"]
    assert policy == "before-hook-creation"


def test_hook_pod_is_not_selected_by_the_services_or_the_pdb(manifests):
    pod = manifests.one("Pod")
    labels = pod["metadata"]["labels"]
    selectors = [s["spec"]["selector"] for s in manifests.of_kind("Service")]
    selectors += [p["spec"]["selector"]["matchLabels"] for p in manifests.of_kind("PodDisruptionBudget")]
    for selector in selectors:
        assert not all(labels.get(k) == v for k, v in selector.items()), f"the test pod matches {selector}"


def test_hook_can_be_disabled(template):
    assert template({"tests": {"enabled": False}}).maybe("Pod") is None


def test_no_hook_when_no_node_runs(template):
    assert template({"replicaCount": 0}).maybe("Pod") is None


def test_hook_pod_takes_annotations(template):
    pod = template({"tests": {"annotations": {"sidecar.istio.io/inject": "false"}}}).one("Pod")
    assert pod["metadata"]["annotations"]["sidecar.istio.io/inject"] == "false"
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
