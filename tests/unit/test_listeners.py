"""Each MQTT listener's EMQX settings, container port and Service ports follow from the same values
(listeners.*, service.ports), in every ci/ scenario and every combination of enabled listeners; the dashboard
and REST API have a Service of their own and never ride on the MQTT clients' Service."""

from itertools import combinations

import pytest

from harness.helm import HelmError
from harness.query import jp
from harness.scenarios import effective_values, served

pytestmark = pytest.mark.unit

EMQX_TYPES = {"mqtt": "tcp", "mqtts": "ssl", "ws": "ws", "wss": "wss"}
# EMQX's default ports; the chart writes every bind explicitly as 0.0.0.0:<containerPort>.
EMQX_PORTS = {"mqtt": 1883, "mqtts": 8883, "ws": 8083, "wss": 8084, "dashboard": 18083}


def ports_by_name(obj, expr):
    return {p["name"]: p for p in jp(obj, expr)}


def check_agreement(m, values):
    """Every place a listener shows up agrees with `values` (the effective values of the render)."""
    config = m.settings()
    container = ports_by_name(m.statefulset, "$.spec.template.spec.containers[?name='emqx'].ports[*]")
    client = ports_by_name(m.one("Service", "emqx-ee"), "$.spec.ports[*]")
    headless = ports_by_name(m.one("Service", "emqx-ee-headless"), "$.spec.ports[*]")
    for name, listener in values["listeners"].items():
        prefix = f"EMQX_LISTENERS__{EMQX_TYPES[name].upper()}__DEFAULT__"
        if served(values, name):
            # Always explicit: under the hardened profile a bare port binds 127.0.0.1 (test_security_profile.py).
            assert config[f"{prefix}BIND"] == f'"0.0.0.0:{listener["containerPort"]}"', f"{name}: quoted for HOCON"
            assert f"{prefix}ENABLE" not in config, name
            assert container[name]["containerPort"] == listener["containerPort"], name
            assert client[name]["targetPort"] == name and client[name]["port"] == values["service"]["ports"][name]
            assert config.get(f"{prefix}PROXY_PROTOCOL") == ("true" if listener["proxyProtocol"] else None), name
        else:
            assert config[f"{prefix}ENABLE"] == "false", f"EMQX would still listen on {name}"
            assert f"{prefix}BIND" not in config and f"{prefix}PROXY_PROTOCOL" not in config, name
            assert name not in container and name not in client and name not in headless, name
    dashboard = values["dashboard"]
    assert "dashboard" not in client, "the MQTT Service must not publish the admin API"
    bind = config.get("EMQX_DASHBOARD__LISTENERS__HTTP__BIND")
    if values["tls"]["enabled"] and values["tls"]["dashboard"]:
        assert bind == "0", "HTTPS only: plain HTTP is switched off"
        assert config["EMQX_DASHBOARD__LISTENERS__HTTPS__BIND"] == f'"0.0.0.0:{dashboard["containerPort"]}"'
    else:
        assert bind == f'"0.0.0.0:{dashboard["containerPort"]}"'
    assert container["dashboard"]["containerPort"] == dashboard["containerPort"]
    admin = ports_by_name(m.one("Service", "emqx-ee-dashboard"), "$.spec.ports[*]")
    assert set(admin) == {"dashboard"} and admin["dashboard"]["port"] == dashboard["service"]["port"]
    assert admin["dashboard"]["targetPort"] == "dashboard"


def test_listeners_agree_everywhere_in_every_scenario(every_scenario):
    for scenario, m in every_scenario:
        try:
            check_agreement(m, effective_values(scenario.values))
        except AssertionError as err:
            raise AssertionError(f"{scenario.name}: {err}") from err


@pytest.mark.parametrize(
    "enabled",
    [c for n in range(1, 5) for c in combinations(EMQX_TYPES, n)],
    ids=lambda c: "+".join(c),
)
def test_listeners_agree_everywhere_for_every_combination(template, enabled):
    values = {
        "listeners": {n: {"enabled": n in enabled, "containerPort": 10000 + i} for i, n in enumerate(EMQX_TYPES)},
        "tls": {"testCertificate": True},
    }
    check_agreement(template(values), effective_values(values))


def test_default_listeners_write_only_their_binds(template):
    """Default listeners get an explicit bind each (so the hardened profile cannot move them to 127.0.0.1)
    and no other listener setting."""
    listeners = {k: v for k, v in template().settings().items() if "LISTENERS" in k}
    expected = {
        f"EMQX_LISTENERS__{EMQX_TYPES[n].upper()}__DEFAULT__BIND": f'"0.0.0.0:{EMQX_PORTS[n]}"' for n in ("mqtt", "ws")
    }
    # Without a certificate the TLS listeners are off (no test certificate with a public key on a port).
    expected |= {"EMQX_LISTENERS__SSL__DEFAULT__ENABLE": "false", "EMQX_LISTENERS__WSS__DEFAULT__ENABLE": "false"}
    expected["EMQX_DASHBOARD__LISTENERS__HTTP__BIND"] = f'"0.0.0.0:{EMQX_PORTS["dashboard"]}"'
    assert listeners == expected


def test_a_moved_dashboard_port_reaches_emqx_probes_and_helm_test(template):
    m = template({"dashboard": {"containerPort": 18084}})
    assert m.settings()["EMQX_DASHBOARD__LISTENERS__HTTP__BIND"] == '"0.0.0.0:18084"'
    test_env = {e["name"]: e.get("value") for e in m.one("Pod")["spec"]["containers"][0]["env"]}
    assert test_env["API_PORT"] == "18084"
    probe = m.statefulset["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]
    assert probe["port"] == "dashboard"


def test_dashboard_service_is_cluster_internal_by_default(template):
    svc = template().one("Service", "emqx-ee-dashboard")
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["selector"] == template().statefulset["spec"]["selector"]["matchLabels"]


def test_dashboard_load_balancer_of_its_own_keeps_mqtt_internal(template):
    m = template({"dashboard": {"service": {"type": "LoadBalancer", "loadBalancerSourceRanges": ["192.0.2.0/24"]}}})
    admin = m.one("Service", "emqx-ee-dashboard")["spec"]
    assert admin["type"] == "LoadBalancer" and admin["loadBalancerSourceRanges"] == ["192.0.2.0/24"]
    assert m.one("Service", "emqx-ee")["spec"]["type"] == "ClusterIP"


def test_dashboard_node_port(template):
    admin = template({"dashboard": {"service": {"type": "NodePort", "nodePort": 31083}}}).one(
        "Service", "emqx-ee-dashboard"
    )
    assert admin["spec"]["ports"][0]["nodePort"] == 31083


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"listeners": {"ws": {"containerPort": 1883}}},
            "listeners.ws.containerPort=1883 is already taken by listeners.mqtt.containerPort",
        ),
        ({"listeners": {"mqtt": {"containerPort": 18083}}}, "is already taken by dashboard.containerPort"),
        ({"listeners": {"wss": {"containerPort": 4370}}}, "is already taken by the Erlang distribution"),
        (
            {"listeners": {"ws": {"enabled": False}}, "service": {"type": "NodePort", "nodePorts": {"ws": 30083}}},
            "service.nodePorts.ws: listener ws is not served (listeners.ws.enabled), so",
        ),
        ({"emqxConfig": {"listeners.tcp.default.bind": "0.0.0.0:1884"}}, "emqxConfig.listeners.tcp.default.bind"),
        ({"emqxConfig": {"listeners.ssl.default.enable": False}}, "emqxConfig.listeners.ssl.default.enable"),
        ({"emqxConfig": {"dashboard.listeners.http.bind": 18084}}, "emqxConfig.dashboard.listeners.http.bind"),
    ],
    ids=["port-clash", "dashboard-clash", "erlang-clash", "node-port-of-disabled", "bind", "enable", "dashboard"],
)
def test_incoherent_listener_values_are_refused(template, values, message):
    with pytest.raises(HelmError) as caught:
        template(values)
    assert message in caught.value.stderr, caught.value.stderr
