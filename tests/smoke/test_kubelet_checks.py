"""kwok starts any pod; the harness's kubelet checks (run after every wait for Ready pods) refuse what a real
node would. The negative control: a pod whose secretKeyRef names a missing key becomes Ready on kwok and is
caught by the check. On kind the kubelet itself would keep it in CreateContainerConfigError."""

import json

import pytest

from harness.kubelet import assert_startable
from harness.statefulset import is_ready

pytestmark = pytest.mark.smoke

RESTRICTED = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def test_a_pod_with_a_missing_secret_key_is_caught(cluster, kubectl, namespace):
    kubectl.run("create", "secret", "generic", "creds", "-n", namespace, "--from-literal=erlang-cookie=x")
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "wrong-key", "namespace": namespace},
        "spec": {
            "automountServiceAccountToken": False,
            "containers": [
                {
                    "name": "c",
                    "image": "emqx/emqx-enterprise:6.2.2",
                    "securityContext": {**RESTRICTED, "runAsUser": 1000},
                    "env": [{"name": "COOKIE", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "cookie"}}}],
                }
            ],
        },
    }
    kubectl.run("apply", "-f", "-", stdin=json.dumps(pod))
    if cluster.runtime == "kwok":
        kubectl.wait_for(
            lambda: is_ready(kubectl.get("pod", namespace, "wrong-key")), "kwok to start the pod anyway", namespace
        )
    with pytest.raises(AssertionError, match="Secret creds has no key cookie"):
        assert_startable(kubectl, namespace)
