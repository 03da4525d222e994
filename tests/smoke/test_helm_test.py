"""`helm test` runs the chart's hook Pod (files/helm-test.py) to completion.

On kwok the hook's container does not run: kwok completes pods that never restart (a stage), so this
proves the hooks (script ConfigMap, then Pod) are accepted by the restricted namespace, created in order,
tracked to success by Helm and cleaned up as the values say, and that a kubelet could start the Pod (every
Secret, ConfigMap and key it references exists). The script itself runs in
tests/unit/test_helm_test_script.py against a real MQTT broker and a stand-in for EMQX's REST API, and on the
real node against the EMQX stand-in (tests/smoke/test_real_node_chart.py, with `--logs`).

Where the test Pod really runs, the script is checked too: `helm test --logs` shows every check passing, and a
failed test is a real one (its nodes stopped) whose log says what failed. On kind (the users' CI) against real
EMQX; on kwok on the real node against the EMQX stand-in.
"""

import pytest

from harness.helm import HelmError
from harness.kubelet import assert_startable
from harness.real_node import on_real_node
from harness.statefulset import pods, wait_ready
from harness.tools import helm as helm_cli

pytestmark = [pytest.mark.smoke, pytest.mark.day2]

LICENSED = {"replicaCount": 2, "license": {"key": "evaluation"}}


@pytest.mark.parametrize("major", [4, 3])
def test_a_passing_test_cleans_up_after_itself(release, kubectl, namespace, major):
    rel = release(helm=helm_cli(major))
    rel.install(LICENSED)
    wait_ready(kubectl, namespace, 2)
    out = rel.test()
    assert "emqx-ee-test" in out and "Succeeded" in out, out
    assert not kubectl.exists("pod", namespace, "emqx-ee-test"), "deleted on success (tests.deleteOnSuccess)"
    assert not kubectl.exists("configmap", namespace, "emqx-ee-test")


def test_the_pod_can_be_kept_and_a_kubelet_could_start_it(release, kubectl, namespace):
    rel = release()
    rel.install(LICENSED | {"tests": {"deleteOnSuccess": False}})
    wait_ready(kubectl, namespace, 2)
    rel.test()
    assert kubectl.get("pod", namespace, "emqx-ee-test")["status"]["phase"] == "Succeeded"
    assert "helm-test.py" in kubectl.get("configmap", namespace, "emqx-ee-test")["data"]
    assert_startable(kubectl, namespace)
    rel.test()  # a second run replaces the kept hooks (before-hook-creation)


def test_a_failed_test_keeps_its_pod_for_the_logs(cluster, release, kubectl, namespace):
    """kwok fails the test Pod through an annotation (a stage, exit code 7); Helm reports the failure and leaves
    the Pod. Where the Pod really runs, its failure is a real one: the test below."""
    if cluster.runtime != "kwok":
        pytest.skip("KWOK STAGE: kind ignores the annotation; the real failure is the test below, on both runtimes")
    rel = release()
    rel.install({"tests": {"annotations": {"kwok.emqx-ee.test/exit-code": "7"}}})
    wait_ready(kubectl, namespace, 1)
    with pytest.raises(HelmError) as caught:
        rel.test()
    assert "emqx-ee-test" in caught.value.stderr and "failed" in caught.value.stderr.lower(), caught.value.stderr
    pod = kubectl.get("pod", namespace, "emqx-ee-test")
    assert pod["status"]["phase"] == "Failed"
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 7


@pytest.fixture
def in_containers(cluster, request) -> dict:
    """Values under which the EMQX pods and the test Pod run in real containers. On kind: real EMQX, two licensed
    nodes. On kwok: the real node with the EMQX stand-in (docs/real-node.md), one node, since the stand-in does
    not route messages between its nodes; the node not up fails the test (tests/smoke/conftest.py real_node)."""
    if cluster.runtime != "kwok":
        return LICENSED
    values = on_real_node(request.getfixturevalue("standin_node"), replicaCount=1)
    values["tests"] = {**values["tests"], "deleteOnSuccess": True}
    return values


def test_a_test_that_really_fails_keeps_its_pod_and_says_why(in_containers, release, kubectl, namespace):
    """Every node is stopped behind Helm's back: the script's first `/status` never answers within
    `tests.timeoutSeconds`, it exits 1 with its FAIL line, Helm reports the failure and keeps the Pod for
    `kubectl logs`."""
    rel = release()
    rel.install(in_containers | {"tests": {**in_containers.get("tests", {}), "timeoutSeconds": 5}})
    wait_ready(kubectl, namespace, in_containers["replicaCount"])
    kubectl.run("scale", "statefulset", "emqx-ee", "-n", namespace, "--replicas=0")
    kubectl.wait_for(lambda: not pods(kubectl, namespace), "every node stopped", namespace)
    with pytest.raises(HelmError) as caught:
        rel.test()
    assert "emqx-ee-test" in caught.value.stderr and "failed" in caught.value.stderr.lower(), caught.value.stderr
    pod = kubectl.get("pod", namespace, "emqx-ee-test")
    assert pod["status"]["phase"] == "Failed"
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 1, "the script's SystemExit"
    log = kubectl.run("logs", "-n", namespace, "emqx-ee-test").stdout
    assert f"FAIL GET http://emqx-ee-0.emqx-ee-headless.{namespace}.svc" in log, log


def test_helm_test_logs_show_every_check_passing(in_containers, release, kubectl, namespace):
    """`helm test --logs` (Helm 4, which reads the log before it deletes the passing Pod): every core answers
    `/status`, the node list matches, and a message makes the round trip through the client Service."""
    rel = release()
    rel.install(in_containers)
    wait_ready(kubectl, namespace, in_containers["replicaCount"])
    out = rel.test(logs=True)
    assert "Succeeded" in out and "PASS" in out, out
    for ordinal in range(in_containers["replicaCount"]):
        assert f"GET http://emqx-ee-{ordinal}.emqx-ee-headless.{namespace}.svc" in out, out
    assert "published and received one message" in out, out
    assert not kubectl.exists("pod", namespace, "emqx-ee-test"), "deleted on success, after its log was read"
