"""Ingress for the dashboard and for MQTT over WebSocket: routed to the right Service port, refused without
a host (schema) or without the ws listener (template)."""

import pytest

from harness.helm import HelmError
from harness.scenarios import effective_values

pytestmark = pytest.mark.unit


def test_no_ingress_by_default(template):
    assert not template().of_kind("Ingress")


def test_dashboard_ingress_routes_to_the_dashboard_service(template):
    values = {
        "ingress": {
            "dashboard": {
                "enabled": True,
                "className": "nginx",
                "hosts": ["emqx.example.com"],
                "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
                "tls": [{"secretName": "emqx-dashboard-tls", "hosts": ["emqx.example.com"]}],
            }
        }
    }
    m = template(values)
    ing = m.one("Ingress", "emqx-ee-dashboard")
    assert ing["spec"]["ingressClassName"] == "nginx"
    assert ing["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt"
    assert ing["spec"]["tls"] == [{"secretName": "emqx-dashboard-tls", "hosts": ["emqx.example.com"]}]
    (rule,) = ing["spec"]["rules"]
    assert rule["host"] == "emqx.example.com"
    (path,) = rule["http"]["paths"]
    assert path["path"] == "/" and path["pathType"] == "Prefix"
    backend = path["backend"]["service"]
    service = m.one("Service", backend["name"])
    assert backend["port"]["name"] in [p["name"] for p in service["spec"]["ports"]]


def test_websocket_ingress_routes_mqtt_path_to_the_ws_port(template):
    m = template({"ingress": {"ws": {"enabled": True, "hosts": ["mqtt.example.com", "mqtt2.example.com"]}}})
    ing = m.one("Ingress", "emqx-ee-ws")
    assert [r["host"] for r in ing["spec"]["rules"]] == ["mqtt.example.com", "mqtt2.example.com"]
    path = ing["spec"]["rules"][0]["http"]["paths"][0]
    assert path["path"] == "/mqtt"
    assert path["backend"]["service"] == {"name": "emqx-ee", "port": {"name": "ws"}}
    assert "ws" in [p["name"] for p in m.one("Service", "emqx-ee")["spec"]["ports"]]


@pytest.mark.parametrize(
    "values, says",
    [
        ({"ingress": {"dashboard": {"enabled": True}}}, "/ingress/dashboard/hosts"),
        ({"ingress": {"ws": {"enabled": True}}}, "/ingress/ws/hosts"),
        ({"ingress": {"dashboard": {"enabled": True, "hosts": ["Not A Host"]}}}, "/ingress/dashboard/hosts/0"),
        (
            {"ingress": {"ws": {"enabled": True, "hosts": ["m.example.com"]}}, "listeners": {"ws": {"enabled": False}}},
            "ingress.ws.enabled: the ws listener is off",
        ),
    ],
)
def test_incomplete_ingress_is_refused(template, values, says):
    with pytest.raises(HelmError) as caught:
        template(values)
    assert says in caught.value.stderr, caught.value.stderr


def test_every_scenario_gets_the_ingresses_its_values_ask_for(every_scenario):
    """Class, hosts, TLS, annotations and paths as each scenario sets them (17), to the Service port of each."""
    backends = {"dashboard": ("emqx-ee-dashboard", "dashboard"), "ws": ("emqx-ee", "ws")}
    for scenario, m in every_scenario:
        for name, (service, port) in backends.items():
            wanted = effective_values(scenario.values)["ingress"][name]
            ingress = m.maybe("Ingress", f"emqx-ee-{name}")
            where = f"{scenario.name}: Ingress/emqx-ee-{name}"
            assert (ingress is not None) == wanted["enabled"], where
            if ingress:
                spec = ingress["spec"]
                assert spec.get("ingressClassName", "") == wanted["className"], where
                assert [r["host"] for r in spec["rules"]] == wanted["hosts"], where
                assert spec.get("tls", []) == wanted["tls"], where
                assert (ingress["metadata"].get("annotations") or {}) == wanted["annotations"], where
                for rule in spec["rules"]:
                    (path,) = rule["http"]["paths"]
                    assert (path["path"], path["pathType"]) == (wanted["path"], wanted["pathType"]), where
                    assert path["backend"]["service"] == {"name": service, "port": {"name": port}}, where
