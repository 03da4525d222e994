"""Ingress for the dashboard and for MQTT over WebSocket: routed to the right Service port, refused without
a host (schema) or without the ws listener (template)."""

import pytest

from harness.helm import HelmError

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
