"""`helm test` runs the chart's hook Pod (files/helm-test.py) to completion.

On kwok the hook's container does not run: kwok completes pods that never restart (a stage), so this
proves the hooks (script ConfigMap, then Pod) are accepted by the restricted namespace, created in order,
tracked to success by Helm and cleaned up as the values say, and that a kubelet could start the Pod (every
Secret, ConfigMap and key it references exists). The script itself runs in
tests/unit/test_helm_test_script.py against a real MQTT broker and a stand-in for EMQX's REST API.
kwok serves no container logs, so what the script prints is not checked here.
"""

import pytest

from harness.helm import HelmError
from harness.kubelet import assert_startable
from harness.statefulset import wait_ready
from harness.tools import helm as helm_cli

pytestmark = pytest.mark.smoke

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


def test_a_failed_test_keeps_its_pod_for_the_logs(release, kubectl, namespace):
    """kwok fails the test Pod through an annotation (a stage); Helm reports the failure and leaves the Pod,
    whose logs `kubectl logs` prints on a real cluster."""
    rel = release()
    rel.install({"tests": {"annotations": {"kwok.emqx-ee.test/exit-code": "7"}}})
    wait_ready(kubectl, namespace, 1)
    with pytest.raises(HelmError) as caught:
        rel.test()
    assert "emqx-ee-test" in caught.value.stderr and "failed" in caught.value.stderr.lower(), caught.value.stderr
    pod = kubectl.get("pod", namespace, "emqx-ee-test")
    assert pod["status"]["phase"] == "Failed"
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 7
