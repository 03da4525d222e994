"""Services by audience on a live cluster, through the EndpointSlices the real controller builds: the MQTT
clients' Service carries the enabled listeners only, the dashboard Service the admin port only, and a
disabled listener is in no Service."""

import pytest

from harness.statefulset import wait_ready

pytestmark = pytest.mark.smoke

VALUES = {
    "replicaCount": 3,
    "minReadySeconds": 0,
    "license": {"key": "evaluation"},
    "listeners": {"mqtt": {"enabled": False}, "wss": {"containerPort": 8085}},
    "tls": {"testCertificate": True},  # the TLS listeners without a certificate (test_secure_defaults.py)
    "dashboard": {"service": {"type": "LoadBalancer", "loadBalancerSourceRanges": ["192.0.2.0/24"]}},
}


def endpoint_ports(kubectl, namespace, service):
    """{port name: target port} and the number of ready endpoints, from the Service's EndpointSlices."""
    slices = kubectl.get("endpointslices", namespace, selector=f"kubernetes.io/service-name={service}")
    ports = {p["name"]: p["port"] for s in slices for p in s.get("ports") or []}
    ready = sum(1 for s in slices for e in s.get("endpoints") or [] if e.get("conditions", {}).get("ready"))
    return ports, ready


def test_mqtt_and_admin_traffic_reach_the_pods_through_separate_services(release, kubectl, namespace):
    release().install(VALUES)
    wait_ready(kubectl, namespace, 3)
    for service in ("emqx-ee", "emqx-ee-dashboard"):
        kubectl.wait_for(
            lambda s=service: endpoint_ports(kubectl, namespace, s)[1] == 3,
            f"3 endpoints of {service}",
            namespace,
            ("endpointslices",),
        )
    client, _ = endpoint_ports(kubectl, namespace, "emqx-ee")
    assert client == {"mqtts": 8883, "ws": 8083, "wss": 8085}, client
    admin, _ = endpoint_ports(kubectl, namespace, "emqx-ee-dashboard")
    assert admin == {"dashboard": 18083}, admin
    headless, _ = endpoint_ports(kubectl, namespace, "emqx-ee-headless")
    assert "mqtt" not in headless and headless["erlang-dist"] == 4370, headless
    assert kubectl.get("service", namespace, "emqx-ee")["spec"]["type"] == "ClusterIP"
