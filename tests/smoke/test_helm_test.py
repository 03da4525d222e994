"""`helm test` runs the chart's hook Pod to completion.

On kwok the hook's container does not run: kwok completes pods that never restart (a stage), so this
proves the hook is accepted by the restricted namespace, created, and tracked to success by Helm; on
kind curl really asks every node for /status. kwok serves no container logs, so `helm test --logs`
(which the NOTES suggest) is not run here; that the Pod is there for it to read is.
"""

import pytest

from harness.helm import HelmError
from harness.statefulset import wait_ready
from harness.tools import helm as helm_cli

pytestmark = pytest.mark.smoke


@pytest.mark.parametrize("major", [4, 3])
def test_helm_test_succeeds_and_keeps_its_pod_for_the_logs(release, kubectl, namespace, major):
    rel = release(helm=helm_cli(major))
    rel.install({"replicaCount": 2, "license": {"key": "evaluation"}})
    wait_ready(kubectl, namespace, 2)
    out = rel.test()
    assert "emqx-ee-test" in out and "Succeeded" in out, out
    assert kubectl.get("pod", namespace, "emqx-ee-test")["status"]["phase"] == "Succeeded", (
        "helm test --logs reads the Pod after the test"
    )
    rel.test()  # a second run replaces the kept Pod (before-hook-creation)


def test_a_failed_test_keeps_its_pod_for_the_logs(release, kubectl, namespace):
    """kwok fails the test Pod through an annotation (a stage); Helm reports the failure and leaves the Pod,
    whose logs `helm test --logs` prints on a real cluster."""
    rel = release()
    rel.install({"tests": {"annotations": {"kwok.emqx-ee.test/exit-code": "7"}}})
    wait_ready(kubectl, namespace, 1)
    with pytest.raises(HelmError) as caught:
        rel.test()
    assert "emqx-ee-test" in caught.value.stderr and "failed" in caught.value.stderr.lower(), caught.value.stderr
    pod = kubectl.get("pod", namespace, "emqx-ee-test")
    assert pod["status"]["phase"] == "Failed"
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 7
