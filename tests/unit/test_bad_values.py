"""Bad input fails `helm template` with a short message that names the value, never a stack trace."""

import pytest

from harness.helm import HelmError

pytestmark = pytest.mark.unit

CASES = {
    "image-tag-number": ({"image": {"tag": 6.2}}, "image/tag"),
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
    "fullname-too-long": ({"fullnameOverride": "x" * 53}, "fullnameOverride"),
    "fullname-not-dns": ({"fullnameOverride": "EMQX_Brokers"}, "fullnameOverride"),
    "namespace-too-long": ({"namespaceOverride": "n" * 64}, "namespaceOverride"),
    "cluster-domain": ({"clusterDomain": "Cluster Local"}, "clusterDomain"),
    "image-digest": ({"image": {"digest": "latest"}}, "image/digest"),
    "node-port-range": ({"service": {"type": "NodePort", "nodePorts": {"mqtt": 80}}}, "nodePorts/mqtt"),
    "probe-period-zero": ({"readinessProbe": {"periodSeconds": 0}}, "readinessProbe/periodSeconds"),
    "liveness-success-threshold": ({"livenessProbe": {"successThreshold": 2}}, "livenessProbe/successThreshold"),
    "replicas-without-license": ({"replicaCount": 3}, "license.key=evaluation"),
    "node-ports-on-cluster-ip": ({"service": {"nodePorts": {"mqtt": 31883}}}, "service.nodePorts needs service.type"),
    "traffic-policy-on-cluster-ip": (
        {"service": {"externalTrafficPolicy": "Local"}},
        "service.externalTrafficPolicy needs",
    ),
    "source-ranges-on-node-port": (
        {"service": {"type": "NodePort", "loadBalancerSourceRanges": ["10.0.0.0/8"]}},
        "service.loadBalancerSourceRanges",
    ),
    "emqx-config-bad-path": ({"emqxConfig": {"log console": "x"}}, "emqxConfig"),
    "emqx-config-cookie": ({"emqxConfig": {"node": {"cookie": "x"}}}, "emqxConfig.node.cookie"),
    "anti-affinity-preset": ({"podAntiAffinityPreset": "medium"}, "podAntiAffinityPreset"),
}


@pytest.mark.parametrize(("values", "names"), list(CASES.values()), ids=list(CASES))
def test_bad_values_are_rejected_with_a_message_naming_them(template, values, names):
    with pytest.raises(HelmError) as caught:
        template(values)
    stderr = caught.value.stderr
    assert names in stderr, f"helm's message does not name {names!r}:\n{stderr}"
    assert "goroutine" not in stderr and "panic" not in stderr, stderr
    assert len(stderr.splitlines()) <= 8, f"message too long:\n{stderr}"


def test_one_node_needs_no_license(template):
    assert template({"replicaCount": 1}).statefulset["spec"]["replicas"] == 1


@pytest.mark.parametrize("license", [{"key": "evaluation"}, {"existingSecret": "lic"}])
def test_a_license_allows_more_nodes(template, license):
    assert template({"replicaCount": 3, "license": license}).statefulset["spec"]["replicas"] == 3
