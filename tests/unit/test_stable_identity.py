"""Stable network identity: pod names, node names and the DNS records EMQX clusters through.

Kubernetes DNS gives a StatefulSet pod (hostname = pod name, subdomain = serviceName) the name
<pod>.<serviceName>.<namespace>.svc.<clusterDomain>, and that name is the SRV target of the
headless Service for that pod. EMQX's DNS SRV discovery joins `<EMQX_NAME>@<SRV target>`, so the
node's own EMQX_HOST must be exactly that name, or nodes would not recognise each other.
"""

import pytest

from harness.query import env_value

pytestmark = pytest.mark.unit


def srv_targets(sts, namespace, domain):
    """What a DNS SRV lookup of the headless Service returns: one target per pod."""
    name, service = sts["metadata"]["name"], sts["spec"]["serviceName"]
    return [f"{name}-{i}.{service}.{namespace}.svc.{domain}" for i in range(sts["spec"]["replicas"])]


def node_hosts(sts):
    """EMQX_HOST of each pod, with $(POD_NAME) expanded as the kubelet does."""
    host = env_value(sts, "EMQX_HOST")["value"]
    pod_name = env_value(sts, "POD_NAME")["valueFrom"]["fieldRef"]["fieldPath"]
    assert pod_name == "metadata.name", "POD_NAME must come from the pod's own name"
    name = sts["metadata"]["name"]
    return [host.replace("$(POD_NAME)", f"{name}-{i}") for i in range(sts["spec"]["replicas"])]


def test_statefulset_is_named_after_the_release(template):
    sts = template().statefulset
    assert sts["metadata"]["name"] == "emqx-ee", "release emqx-ee must give StatefulSet emqx-ee (pods emqx-ee-N)"


def test_pods_are_numbered_from_zero_under_the_release_name(template):
    sts = template({"replicaCount": 3, "license": {"key": "evaluation"}}).statefulset
    assert srv_targets(sts, "emqx", "cluster.local")[0].startswith("emqx-ee-0.")
    assert [h.split(".")[0] for h in node_hosts(sts)] == ["emqx-ee-0", "emqx-ee-1", "emqx-ee-2"]


def test_every_node_host_equals_its_srv_target(every_scenario):
    for scenario, m in every_scenario:
        sts = m.statefulset
        domain = scenario.values.get("clusterDomain", "cluster.local")
        assert node_hosts(sts) == srv_targets(sts, "emqx", domain), scenario.name


def test_node_name_prefix_is_fixed_per_release(every_scenario):
    for scenario, m in every_scenario:
        assert env_value(m.statefulset, "EMQX_NAME")["value"] == "emqx", scenario.name


def test_discovery_finds_exactly_the_node_hosts_in_every_scenario(every_scenario):
    """Whatever the strategy, what EMQX discovers is the set of core node names (tests/unit/test_discovery.py).
    The headless Service behind `serviceName` is checked in test_headless_service.py."""
    for scenario, m in every_scenario:
        cm = m.settings()
        sts = m.statefulset
        domain = scenario.values.get("clusterDomain", "cluster.local")
        headless = sts["spec"]["serviceName"]
        strategy = scenario.values.get("discovery", "dns")
        assert cm["EMQX_CLUSTER__DISCOVERY_STRATEGY"] == strategy, scenario.name
        if strategy == "dns":
            assert cm["EMQX_CLUSTER__DNS__RECORD_TYPE"] == "srv", scenario.name
            assert cm["EMQX_CLUSTER__DNS__NAME"] == f"{headless}.emqx.svc.{domain}", scenario.name
        elif strategy == "k8s":
            k8s = (cm["EMQX_CLUSTER__K8S__SERVICE_NAME"], cm["EMQX_CLUSTER__K8S__SUFFIX"])
            assert k8s == (headless, f"svc.{domain}"), scenario.name
        else:
            seeds = "[" + ",".join(f'"emqx@{h}"' for h in sorted(node_hosts(sts))) + "]"
            assert cm["EMQX_CLUSTER__STATIC__SEEDS"] == seeds, scenario.name


def test_custom_cluster_domain_replaces_cluster_local_everywhere(template):
    m = template({"clusterDomain": "k8s.example.internal"})
    for doc in m:
        assert "cluster.local" not in str(doc), f"{doc['kind']}/{doc['metadata']['name']} still says cluster.local"
    assert env_value(m.statefulset, "EMQX_HOST")["value"].endswith(".emqx-ee-headless.emqx.svc.k8s.example.internal")


def test_emqx_name_value_sets_the_node_name_prefix(template):
    assert env_value(template({"emqxName": "broker"}).statefulset, "EMQX_NAME")["value"] == "broker"
