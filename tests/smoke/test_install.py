"""`helm install` of every cluster scenario on a real API server, in a namespace that enforces Pod
Security "restricted"; the StatefulSet becomes Ready. Bad values are refused before anything exists.

On kwok, "Ready" is the simulated kubelet's verdict (no EMQX process runs); on kind EMQX runs for real.
"""

import pytest

from harness.cluster import wait_until
from harness.helm import HelmError
from harness.scenarios import scenarios
from harness.statefulset import pods, wait_ready
from harness.tools import helm as helm_cli

pytestmark = pytest.mark.smoke

CLUSTER_SCENARIOS = [s for s in scenarios() if s.smoke]


@pytest.mark.parametrize("cluster_scenario", CLUSTER_SCENARIOS, ids=lambda s: s.name)
def test_scenario_installs_and_becomes_ready(release, kubectl, namespace, cluster_scenario):
    release().install(cluster_scenario.values)
    replicas = cluster_scenario.values.get("replicaCount", 1)
    wait_ready(kubectl, namespace, replicas)
    assert [p["metadata"]["name"] for p in pods(kubectl, namespace)] == [f"emqx-ee-{i}" for i in range(replicas)]
    refused = [e for e in kubectl.get("events", namespace) if e["reason"] == "FailedCreate"]
    assert not refused, [e["message"] for e in refused]
    slices = kubectl.get("endpointslices", namespace, selector="kubernetes.io/service-name=emqx-ee")
    client_ports = {p["port"] for s in slices for p in s.get("ports") or []}
    assert client_ports and 18083 not in client_ports, f"the MQTT Service publishes {sorted(client_ports)}"


def test_helm3_installs_the_chart_too(release, kubectl, namespace):
    release(helm=helm_cli(3)).install({})
    wait_ready(kubectl, namespace, 1)


def test_restricted_namespace_refuses_a_privileged_pod(release, kubectl, namespace):
    """Negative control: the namespace really enforces "restricted", so the admissions above mean something."""
    release().install({"containerSecurityContext": {"privileged": True, "allowPrivilegeEscalation": True}})

    def refusal():
        return [
            e["message"]
            for e in kubectl.get("events", namespace)
            if e["reason"] == "FailedCreate" and "restricted" in e["message"]
        ]

    messages = wait_until(refusal, "a PodSecurity FailedCreate event", timeout=60)
    assert "privileged" in messages[0], messages
    assert pods(kubectl, namespace) == []


def test_bad_values_are_refused_before_anything_is_created(release, kubectl, namespace):
    with pytest.raises(HelmError) as caught:
        release().install({"replicaCount": 3})
    assert "/license/key" in caught.value.stderr
    for kind in ("statefulsets", "services", "configmaps", "secrets", "persistentvolumeclaims"):
        found = [
            o["metadata"]["name"] for o in kubectl.get(kind, namespace) if o["metadata"]["name"] != "kube-root-ca.crt"
        ]
        assert found == [], f"{kind} created by a refused install: {found}"
    listed = kubectl.run("get", "secrets", "-n", namespace, "-l", "owner=helm", "-o", "name").stdout
    assert listed == "", f"helm recorded a release: {listed}"
