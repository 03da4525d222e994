"""The headless Service contract and the client Service."""

import pytest

from harness.query import jp, jp1

pytestmark = pytest.mark.unit


def ports(service):
    return {p["name"]: p for p in jp(service, "$.spec.ports[*]")}


def test_headless_service_publishes_not_ready_pods(manifests):
    headless = manifests.one("Service", manifests.statefulset["spec"]["serviceName"])
    assert jp1(headless, "$.spec.clusterIP") == "None"
    assert jp1(headless, "$.spec.publishNotReadyAddresses") is True, "peers must see booting nodes"


def test_headless_service_names_the_cluster_ports(manifests):
    headless = manifests.one("Service", manifests.statefulset["spec"]["serviceName"])
    p = ports(headless)
    assert p["erlang-dist"]["port"] == 4370 and p["gen-rpc"]["port"] == 5369, p


def test_services_select_exactly_the_pods_of_one_workload(manifests):
    """Each Service selects the core StatefulSet's pods, or (the client Service, with replicants) the replicants';
    the metrics Service every EMQX node of the cluster (cores and replicants) and nothing else."""
    sts = manifests.statefulset
    selectors = [w["spec"]["selector"]["matchLabels"] for w in manifests.workloads() if w["kind"] != "Job"]
    for svc in manifests.of_kind("Service"):
        if svc["metadata"]["name"] == "emqx-ee-metrics":
            continue
        assert svc["spec"]["selector"] in selectors, svc["metadata"]["name"]
    metrics = manifests.one("Service", "emqx-ee-metrics")["spec"]["selector"]
    for obj, labels in manifests.pod_labels():
        selected = all(labels.get(k) == v for k, v in metrics.items())
        assert selected == (obj["kind"] in ("StatefulSet", "Deployment")), obj["metadata"]["name"]
    for name in ("emqx-ee-headless", "emqx-ee-dashboard"):
        assert manifests.one("Service", name)["spec"]["selector"] == sts["spec"]["selector"]["matchLabels"], name


def test_every_target_port_is_a_named_container_port(manifests):
    container_ports = {
        p["name"]: p["containerPort"]
        for p in jp(manifests.statefulset, "$.spec.template.spec.containers[?name='emqx'].ports[*]")
    }
    for svc in manifests.of_kind("Service"):
        for port in jp(svc, "$.spec.ports[*]"):
            assert port["targetPort"] in container_ports, f"{svc['metadata']['name']} port {port['name']}"


def test_container_ports_are_emqx_defaults(template):
    cports = {
        p["name"]: p["containerPort"] for p in jp(template().statefulset, "$.spec.template.spec.containers[0].ports[*]")
    }
    assert cports == {
        "mqtt": 1883,
        "mqtts": 8883,
        "ws": 8083,
        "wss": 8084,
        "dashboard": 18083,
        "erlang-dist": 4370,
        "gen-rpc": 5369,
    }


def test_client_service_defaults_to_cluster_ip_with_all_mqtt_listeners(template):
    svc = template().one("Service", "emqx-ee")
    assert svc["spec"]["type"] == "ClusterIP"
    assert {n: p["port"] for n, p in ports(svc).items()} == {"mqtt": 1883, "mqtts": 8883, "ws": 8083, "wss": 8084}


def test_load_balancer_options_reach_the_service(template):
    svc = template(
        {
            "service": {
                "type": "LoadBalancer",
                "externalTrafficPolicy": "Local",
                "loadBalancerClass": "example.com/lb",
                "loadBalancerSourceRanges": ["192.0.2.0/24"],
                "nodePorts": {"mqtt": 31883},
                "annotations": {"a": "b"},
                "ports": {"mqtt": 11883},
            }
        }
    ).one("Service", "emqx-ee")
    assert svc["spec"]["type"] == "LoadBalancer"
    assert svc["spec"]["externalTrafficPolicy"] == "Local"
    assert svc["spec"]["loadBalancerClass"] == "example.com/lb"
    assert svc["spec"]["loadBalancerSourceRanges"] == ["192.0.2.0/24"]
    assert ports(svc)["mqtt"] == {
        "name": "mqtt",
        "port": 11883,
        "targetPort": "mqtt",
        "protocol": "TCP",
        "nodePort": 31883,
    }
    assert "nodePort" not in ports(svc)["ws"]
    assert svc["metadata"]["annotations"] == {"a": "b"}


def test_node_port_service(template):
    svc = template({"service": {"type": "NodePort", "nodePorts": {"wss": 31084}}}).one("Service", "emqx-ee")
    assert svc["spec"]["type"] == "NodePort"
    assert ports(svc)["wss"]["nodePort"] == 31084
    assert "loadBalancerSourceRanges" not in svc["spec"]


def test_headless_service_annotations(template):
    svc = template({"headlessService": {"annotations": {"x": "y"}}}).one("Service", "emqx-ee-headless")
    assert svc["metadata"]["annotations"] == {"x": "y"}
