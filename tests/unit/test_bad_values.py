"""Bad input fails `helm template` with a short message that names the value, never a stack trace, under each
Helm major (each words schema errors and wraps `fail` messages itself)."""

from functools import partial

import pytest

from harness.helm import HelmError, prefetch, render

pytestmark = pytest.mark.unit

CASES = {
    "replica-count-string": ({"replicaCount": "3"}, "replicaCount"),
    "replica-count-negative": ({"replicaCount": -1}, "replicaCount"),
    "unknown-root-key": ({"replicas": 3}, "replicas"),
    "unknown-nested-key": ({"persistence": {"sise": "1Gi"}}, "sise"),
    "service-type": ({"service": {"type": "Ingress"}}, "service/type"),
    "pull-policy": ({"image": {"pullPolicy": "Sometimes"}}, "pullPolicy"),
    "pod-management-policy": ({"podManagementPolicy": "Serial"}, "podManagementPolicy"),
    "update-strategy": ({"updateStrategy": {"type": "Recreate"}}, "updateStrategy/type"),
    "retention-policy": ({"persistentVolumeClaimRetentionPolicy": {"whenScaled": "Keep"}}, "whenScaled"),
    "size-not-a-quantity": ({"persistence": {"size": "10GB"}}, "persistence/size"),
    "size-with-space": ({"persistence": {"size": "10 Gi"}}, "persistence/size"),
    "access-modes-read-only": ({"persistence": {"accessModes": ["ReadOnlyMany"]}}, "persistence/accessModes"),
    "fullname-too-long": ({"fullnameOverride": "x" * 53}, "fullnameOverride"),
    "fullname-not-dns": ({"fullnameOverride": "EMQX_Brokers"}, "fullnameOverride"),
    "namespace-too-long": ({"namespaceOverride": "n" * 64}, "namespaceOverride"),
    "cluster-domain": ({"clusterDomain": "Cluster Local"}, "clusterDomain"),
    "image-digest": ({"image": {"digest": "latest"}}, "image/digest"),
    "node-port-range": ({"service": {"type": "NodePort", "nodePorts": {"mqtt": 80}}}, "nodePorts/mqtt"),
    "probe-period-zero": ({"readinessProbe": {"periodSeconds": 0}}, "readinessProbe/periodSeconds"),
    "liveness-success-threshold": ({"livenessProbe": {"successThreshold": 2}}, "livenessProbe/successThreshold"),
    "image-tag-integer": ({"image": {"tag": 6}}, "--set-string image.tag"),
    "image-tag-float-loses-digits": ({"image": {"tag": 6.10}}, "read as the number 6.1"),
    "pdb-max-unavailable-zero": ({"podDisruptionBudget": {"maxUnavailable": 0}}, "podDisruptionBudget/maxUnavailable"),
    "pdb-max-unavailable-zero-percent": (
        {"podDisruptionBudget": {"maxUnavailable": "0%"}},
        "podDisruptionBudget/maxUnavailable",
    ),
    "pdb-min-available-all": (
        {"replicaCount": 3, "license": {"key": "e"}, "podDisruptionBudget": {"minAvailable": 3}},
        "podDisruptionBudget.minAvailable=3 with replicaCount=3",
    ),
    "service-port-removed": ({"service": {"ports": {"mqtts": None}}}, "missing property 'mqtts'"),
    "gitops-without-existing-secrets": ({"auth": {"generate": False}}, "/auth/erlangCookie/existingSecret"),
    "unknown-guard": ({"upgradeGuards": {"allowEverything": True}}, "allowEverything"),
    "dashboard-node-port-on-client-service": (
        {"service": {"type": "NodePort", "nodePorts": {"dashboard": 31083}}},
        "dashboard",
    ),
    "listener-port-range": ({"listeners": {"mqtt": {"containerPort": 70000}}}, "listeners/mqtt/containerPort"),
    "unknown-listener": ({"listeners": {"quic": {"enabled": True}}}, "quic"),
    "emqx-config-bad-path": ({"emqxConfig": {"log console": "x"}}, "emqxConfig"),
    "emqx-config-cookie": ({"emqxConfig": {"node": {"cookie": "x"}}}, "emqxConfig.node.cookie"),
    "anti-affinity-preset": ({"podAntiAffinityPreset": "medium"}, "podAntiAffinityPreset"),
}


@pytest.fixture(scope="session")
def rendered(helm):
    """Every case rendered by this major, two at a time; each test reads its own HelmError."""
    prefetch(partial(render, helm, values) for values, _ in CASES.values())


@pytest.mark.parametrize(("values", "names"), list(CASES.values()), ids=list(CASES))
def test_bad_values_are_rejected_with_a_message_naming_them(helm, rendered, values, names):
    with pytest.raises(HelmError) as caught:
        render(helm, values)
    stderr = caught.value.stderr
    assert names in stderr, f"helm's message does not name {names!r}:\n{stderr}"
    assert "goroutine" not in stderr and "panic" not in stderr, stderr
    assert len(stderr.splitlines()) <= 8, f"message too long:\n{stderr}"


def test_one_node_needs_no_license(template):
    assert template({"replicaCount": 1}).statefulset["spec"]["replicas"] == 1


@pytest.mark.parametrize("license", [{"key": "evaluation"}, {"existingSecret": "lic"}])
def test_a_license_allows_more_nodes(template, license):
    assert template({"replicaCount": 3, "license": license}).statefulset["spec"]["replicas"] == 3
