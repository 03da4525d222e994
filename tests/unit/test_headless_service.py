"""The headless Service contract and the client Service."""

import pytest

from harness.query import jp, jp1
from harness.scenarios import effective_values

pytestmark = pytest.mark.unit


def ports(service):
    return {p["name"]: p for p in jp(service, "$.spec.ports[*]")}


def test_headless_service_publishes_not_ready_pods(every_scenario):
    for scenario, m in every_scenario:
        headless = m.one("Service", m.statefulset["spec"]["serviceName"])
        assert jp1(headless, "$.spec.clusterIP") == "None", scenario.name
        assert jp1(headless, "$.spec.publishNotReadyAddresses") is True, (
            f"{scenario.name}: peers must see booting nodes"
        )


def test_headless_service_names_the_cluster_ports(every_scenario):
    for scenario, m in every_scenario:
        p = ports(m.one("Service", m.statefulset["spec"]["serviceName"]))
        assert p["erlang-dist"]["port"] == 4370 and p["gen-rpc"]["port"] == 5369, f"{scenario.name}: {p}"


def test_services_select_exactly_the_pods_of_one_workload(every_scenario):
    """Each Service selects the core StatefulSet's pods, or (the client Service, with replicants) the replicants';
    the metrics Service every EMQX node of the cluster (cores and replicants) and nothing else."""
    for scenario, m in every_scenario:
        sts = m.statefulset
        selectors = [w["spec"]["selector"]["matchLabels"] for w in m.workloads() if w["kind"] != "Job"]
        for svc in m.of_kind("Service"):
            if svc["metadata"]["name"] == "emqx-ee-metrics":
                continue
            assert svc["spec"]["selector"] in selectors, f"{scenario.name}: {svc['metadata']['name']}"
        metrics = m.one("Service", "emqx-ee-metrics")["spec"]["selector"]
        for obj, labels in m.pod_labels():
            selected = all(labels.get(k) == v for k, v in metrics.items())
            assert selected == (obj["kind"] in ("StatefulSet", "Deployment")), f"{scenario.name}: {obj['metadata']}"
        for name in ("emqx-ee-headless", "emqx-ee-dashboard"):
            selector = m.one("Service", name)["spec"]["selector"]
            assert selector == sts["spec"]["selector"]["matchLabels"], f"{scenario.name}: {name}"


def test_every_target_port_is_a_named_container_port(every_scenario):
    for scenario, m in every_scenario:
        container_ports = {
            p["name"]: p["containerPort"]
            for p in jp(m.statefulset, "$.spec.template.spec.containers[?name='emqx'].ports[*]")
        }
        for svc in m.of_kind("Service"):
            for port in jp(svc, "$.spec.ports[*]"):
                where = f"{scenario.name}: {svc['metadata']['name']} port {port['name']}"
                assert port["targetPort"] in container_ports, where


def test_every_scenario_publishes_its_services_as_its_values_say(every_scenario):
    """The client Service (service.*) and the dashboard Service (dashboard.service.*) carry each scenario's type,
    source ranges, class, traffic policy, node ports and annotations: what 05, 09 and 11 vary."""
    for scenario, m in every_scenario:
        values = effective_values(scenario.values)
        for name, wanted in (("emqx-ee", values["service"]), ("emqx-ee-dashboard", values["dashboard"]["service"])):
            svc = m.one("Service", name)
            spec, where = svc["spec"], f"{scenario.name}: Service/{name}"
            assert spec["type"] == wanted["type"], where
            assert spec.get("loadBalancerSourceRanges", []) == wanted["loadBalancerSourceRanges"], where
            assert spec.get("loadBalancerClass", "") == wanted["loadBalancerClass"], where
            assert spec.get("externalTrafficPolicy", "") == wanted.get("externalTrafficPolicy", ""), where
            assert (svc["metadata"].get("annotations") or {}) == wanted["annotations"], where
            node_ports = {p["name"]: p["nodePort"] for p in spec["ports"] if "nodePort" in p}
            fixed = wanted.get("nodePorts") or ({"dashboard": wanted["nodePort"]} if wanted.get("nodePort") else {})
            assert node_ports == fixed, where


def test_container_ports_are_emqx_defaults(template):
    m = template({"tls": {"testCertificate": True}})
    cports = {p["name"]: p["containerPort"] for p in jp(m.statefulset, "$.spec.template.spec.containers[0].ports[*]")}
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
    assert {n: p["port"] for n, p in ports(svc).items()} == {"mqtt": 1883, "ws": 8083}, "TLS needs a certificate"
    svc = template({"tls": {"testCertificate": True}}).one("Service", "emqx-ee")
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
    values = {"service": {"type": "NodePort", "nodePorts": {"wss": 31084}}, "tls": {"testCertificate": True}}
    svc = template(values).one("Service", "emqx-ee")
    assert svc["spec"]["type"] == "NodePort"
    assert ports(svc)["wss"]["nodePort"] == 31084
    assert "loadBalancerSourceRanges" not in svc["spec"]


def test_headless_service_annotations(template):
    svc = template({"headlessService": {"annotations": {"x": "y"}}}).one("Service", "emqx-ee-headless")
    assert svc["metadata"]["annotations"] == {"x": "y"}
