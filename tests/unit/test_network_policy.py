"""The NetworkPolicy means what it says: the allowed flows are computed from the rendered policy by a real
policy engine (cyclonus's matcher, harness.netpol) over a described cluster, because neither kwok nor a
bare control plane enforces NetworkPolicy. The smoke suite applies the same policies to the API server."""

import pytest

from harness.helm import HelmError
from harness.netpol import External, Pod, truth_table
from harness.scenarios import effective_values

pytestmark = pytest.mark.unit

NS = "emqx"
MEMBERS = {"emqx-ee/cluster": "emqx-ee"}
CLUSTER_PORTS = (4370, 5369)
MQTT_PORTS = (1883, 8883, 8083, 8084)
DASHBOARD = 18083
PORTS = [(p, "TCP", "") for p in (*CLUSTER_PORTS, *MQTT_PORTS, DASHBOARD, 9999)] + [(53, "UDP", "")]

NAMESPACES = {NS: {}, "iot": {}, "monitoring": {}, "kube-system": {}, "ingress-nginx": {}}
CORE = Pod(NS, "emqx-ee-0", {**MEMBERS, "app.kubernetes.io/component": "core"}, "10.0.0.10")
CORE1 = Pod(NS, "emqx-ee-1", {**MEMBERS, "app.kubernetes.io/component": "core"}, "10.0.0.11")
REPLICANT = Pod(NS, "emqx-ee-replicant-x", {**MEMBERS, "app.kubernetes.io/component": "replicant"}, "10.0.0.12")
TEST_POD = Pod(NS, "emqx-ee-test", {"app.kubernetes.io/name": "emqx-ee-test"}, "10.0.0.13")
OTHER_RELEASE = Pod(NS, "other-0", {"emqx-ee/cluster": "other"}, "10.0.0.14")
CLIENT = Pod("iot", "sensor", {"app": "sensor"}, "10.0.1.10")
PROMETHEUS = Pod("monitoring", "prometheus-0", {"app": "prometheus"}, "10.0.2.10")
DNS = Pod("kube-system", "coredns", {"k8s-app": "kube-dns"}, "10.0.3.10")
INGRESS = Pod("ingress-nginx", "controller", {"app": "ingress-nginx"}, "10.0.4.10")
PODS = [CORE, CORE1, REPLICANT, TEST_POD, OTHER_RELEASE, CLIENT, PROMETHEUS, DNS, INGRESS]
INTERNET = External("203.0.113.7")
API_SERVER = External("192.0.2.1")


def table(template, values=None):
    m = template({"replicants": {"enabled": True}, "license": {"key": "evaluation"}, **(values or {})})
    policies = m.of_kind("NetworkPolicy")
    assert policies, "networkPolicy renders"
    return truth_table(policies, NAMESPACES, PODS, PORTS, externals=[INTERNET, API_SERVER], default_namespace=NS)


def reach(t, src, dst, port, protocol="TCP"):
    return t[(src.key, dst.key, port, protocol)]


@pytest.fixture
def default(template):
    return table(template)


def test_cluster_ports_only_between_members(default):
    for port in CLUSTER_PORTS:
        for src, dst in ((CORE, CORE1), (CORE, REPLICANT), (REPLICANT, CORE)):
            assert reach(default, src, dst, port), f"{src.name} -> {dst.name}:{port}"
        for outsider in (OTHER_RELEASE, TEST_POD, CLIENT, PROMETHEUS, INGRESS):
            assert not reach(default, outsider, CORE, port), f"{outsider.name} must not reach {port}"
            assert not reach(default, outsider, REPLICANT, port)
        assert not reach(default, INTERNET, CORE, port)


def test_mqtt_listeners_are_open_to_every_client(template):
    served = table(template, {"tls": {"testCertificate": True}})
    for port in MQTT_PORTS:
        for src in (CLIENT, INTERNET, TEST_POD, OTHER_RELEASE):
            assert reach(served, src, CORE, port) and reach(served, src, REPLICANT, port), (src, port)


def test_tls_ports_without_a_certificate_are_closed(default):
    """mqtts and wss are off without a certificate, and the policy admits no port nothing serves."""
    for port in (8883, 8084):
        assert not reach(default, CLIENT, CORE, port), port
    assert reach(default, CLIENT, CORE, 1883) and reach(default, CLIENT, CORE, 8083)


def test_dashboard_only_from_the_release_namespace_and_metrics_from_monitoring(default):
    assert reach(default, TEST_POD, CORE, DASHBOARD), "the helm test asks the REST API"
    assert reach(default, OTHER_RELEASE, CORE, DASHBOARD), "same namespace"
    assert reach(default, PROMETHEUS, CORE, DASHBOARD) and reach(default, PROMETHEUS, REPLICANT, DASHBOARD)
    for outsider in (CLIENT, INGRESS, INTERNET):
        assert not reach(default, outsider, CORE, DASHBOARD), outsider


def test_nothing_else_reaches_the_nodes_and_egress_stays_open(default):
    assert not reach(default, CLIENT, CORE, 9999)
    assert reach(default, CORE, INTERNET, 9999), "data integrations reach anything by default"
    assert reach(default, CORE, DNS, 53, "UDP")
    assert reach(default, CLIENT, OTHER_RELEASE, 4370), "pods the policy does not select are untouched"


def test_clients_and_dashboard_can_be_restricted(template):
    t = table(
        template,
        {
            "networkPolicy": {
                "clients": {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "iot"}}}]},
                "dashboard": {
                    "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]
                },
                "metrics": {"from": []},
            }
        },
    )
    assert reach(t, CLIENT, CORE, 1883) and not reach(t, INTERNET, CORE, 1883) and not reach(t, TEST_POD, CORE, 1883)
    assert reach(t, INGRESS, CORE, DASHBOARD) and not reach(t, TEST_POD, CORE, DASHBOARD)
    assert not reach(t, PROMETHEUS, CORE, DASHBOARD), "metrics.from emptied"


def test_restricted_egress_keeps_dns_peers_and_the_api_server(template):
    egress = {"enabled": True, "apiServer": [{"ipBlock": {"cidr": "192.0.2.1/32"}}], "apiServerPort": 443}
    t = table(template, {"discovery": "k8s", "networkPolicy": {"egress": egress}})
    assert reach(t, CORE, DNS, 53, "UDP")
    assert reach(t, CORE, CORE1, 4370) and reach(t, REPLICANT, CORE, 5369)
    assert not reach(t, CORE, INTERNET, 9999) and not reach(t, CORE, OTHER_RELEASE, 4370)
    allowed_api = [k for k, ok in t.items() if ok and k[0] == CORE.key and k[1] == API_SERVER.key]
    assert allowed_api == [], "port 443 is not in PORTS: the API rule admits its port only"
    t443 = truth_table(
        template({"discovery": "k8s", "networkPolicy": {"egress": egress}}).of_kind("NetworkPolicy"),
        NAMESPACES,
        [CORE],
        [(443, "TCP", "")],
        externals=[API_SERVER, INTERNET],
        default_namespace=NS,
    )
    assert t443[(CORE.key, API_SERVER.key, 443, "TCP")] and not t443[(CORE.key, INTERNET.key, 443, "TCP")]


def test_only_enabled_listeners_are_admitted(template):
    t = table(template, {"listeners": {"ws": {"enabled": False}, "mqtt": {"containerPort": 11883}}})
    assert not reach(t, CLIENT, CORE, 8083) and not reach(t, CLIENT, CORE, 1883)
    moved = truth_table(
        template({"listeners": {"mqtt": {"containerPort": 11883}}}).of_kind("NetworkPolicy"),
        NAMESPACES,
        [CLIENT, CORE],
        [(11883, "TCP", "")],
        default_namespace=NS,
    )
    assert moved[(CLIENT.key, CORE.key, 11883, "TCP")], "the policy follows the container port"


def test_policy_selects_exactly_the_members(every_scenario):
    for scenario, m in every_scenario:
        for policy in m.of_kind("NetworkPolicy"):
            selector = policy["spec"]["podSelector"]["matchLabels"]
            for obj, labels in m.pod_labels():
                member = all(labels.get(k) == v for k, v in selector.items())
                assert member == (obj["kind"] in ("StatefulSet", "Deployment")), f"{scenario.name}: {obj['metadata']}"


def test_every_scenario_admits_the_peers_its_values_name(every_scenario):
    """Clients, dashboard and metrics peers, and the extra egress, as each scenario sets them (17); the rules'
    effect is what the engine-computed tests above prove."""
    for scenario, m in every_scenario:
        wanted = effective_values(scenario.values)["networkPolicy"]
        policy = m.maybe("NetworkPolicy", "emqx-ee")
        assert (policy is not None) == wanted["enabled"], scenario.name
        if policy:
            cluster, clients, dashboard, metrics = policy["spec"]["ingress"]
            assert clients.get("from", []) == wanted["clients"]["from"], f"{scenario.name}: open when empty"
            default = [{"podSelector": {}}]  # the release namespace
            assert dashboard["from"] == (wanted["dashboard"]["from"] or default), scenario.name
            assert metrics["from"] == wanted["metrics"]["from"], scenario.name
            egress = policy["spec"].get("egress", [])
            assert ("Egress" in policy["spec"]["policyTypes"]) == wanted["egress"]["enabled"], scenario.name
            extra = wanted["egress"]["extra"]
            assert egress[len(egress) - len(extra) :] == extra, scenario.name


def test_network_policy_can_be_turned_off(template):
    assert not template({"networkPolicy": {"enabled": False}}).of_kind("NetworkPolicy")


def test_restricted_egress_with_k8s_discovery_needs_the_api_server(template):
    with pytest.raises(HelmError, match=r"networkPolicy.egress.apiServer: discovery=k8s reads Endpoints"):
        template({"discovery": "k8s", "networkPolicy": {"egress": {"enabled": True}}})


# Every port of the values moved off its default (the render truth table above uses the defaults only).
MOVED = {
    "listeners": {
        "mqtt": {"containerPort": 11883},
        "mqtts": {"containerPort": 18883},
        "ws": {"containerPort": 18084},
        "wss": {"containerPort": 18085},
    },
    "dashboard": {"containerPort": 28083},
    # mqtts and wss are served without a certificate of the user's only on purpose.
    "tls": {"testCertificate": True},
}


def test_a_release_that_moves_every_port_admits_the_moved_ports_and_not_the_defaults(template):
    moved_mqtt = tuple(v["containerPort"] for v in MOVED["listeners"].values())
    moved_dashboard = MOVED["dashboard"]["containerPort"]
    ports = [(p, "TCP", "") for p in (*CLUSTER_PORTS, *MQTT_PORTS, DASHBOARD, *moved_mqtt, moved_dashboard)]
    m = template({"replicants": {"enabled": True}, "license": {"key": "evaluation"}, **MOVED})
    t = truth_table(m.of_kind("NetworkPolicy"), NAMESPACES, PODS, ports, externals=[INTERNET], default_namespace=NS)
    for dst in (CORE, REPLICANT):
        for port in moved_mqtt:
            assert reach(t, CLIENT, dst, port) and reach(t, INTERNET, dst, port), (dst.name, port)
        for src in (TEST_POD, OTHER_RELEASE, PROMETHEUS):
            assert reach(t, src, dst, moved_dashboard), f"{src.name} -> {dst.name}:{moved_dashboard}"
        for outsider in (CLIENT, INGRESS, INTERNET):
            assert not reach(t, outsider, dst, moved_dashboard), (outsider.name, dst.name)
        for port in (*MQTT_PORTS, DASHBOARD):
            for src in (CLIENT, INTERNET, TEST_POD, PROMETHEUS):
                assert not reach(t, src, dst, port), f"{src.name} -> {dst.name}:{port}: a default port left open"
