"""Day 2 for the values added with listeners, the dashboard Service, replicants, autoscaling and TLS: each
change, made with `helm upgrade` on one running release, is accepted and lands as documented: Services and
their endpoints follow, pods roll when their template changes, and turning autoscaling on never drops the
running replicants to one (the Deployment keeps its live count until the HPA decides)."""

import base64

import pytest

from harness.scenarios import effective_values, scenarios
from harness.statefulset import pods, wait_ready, wait_updated

pytestmark = pytest.mark.smoke

BASE = {"replicaCount": 3, "minReadySeconds": 0, "license": {"key": "evaluation"}}


def endpoint_ports(kubectl, namespace, service):
    slices = kubectl.get("endpointslices", namespace, selector=f"kubernetes.io/service-name={service}")
    return {p["name"] for s in slices for p in s.get("ports") or []}


def replicant_count(kubectl, namespace):
    return kubectl.get("deployment", namespace, "emqx-ee-replicant")["spec"]["replicas"]


def test_listener_dashboard_replicant_autoscaling_and_tls_changes_on_a_running_release(release, kubectl, namespace):
    rel = release()
    rel.install(BASE)
    wait_ready(kubectl, namespace, 3)
    values = BASE

    def upgrade(change):
        nonlocal values
        values = effective_values(change, values)
        return rel.upgrade(values)

    upgrade({"listeners": {"mqtt": {"enabled": False}}, "dashboard": {"service": {"type": "LoadBalancer"}}})
    wait_updated(kubectl, namespace, 3)
    kubectl.wait_for(
        lambda: endpoint_ports(kubectl, namespace, "emqx-ee") == {"mqtts", "ws", "wss"},
        "mqtt to leave",
        namespace,
        ("endpointslices",),
    )
    assert kubectl.get("service", namespace, "emqx-ee-dashboard")["spec"]["type"] == "LoadBalancer"

    upgrade({"replicants": {"enabled": True, "replicaCount": 4}})
    kubectl.wait_for(
        lambda: kubectl.get("deployment", namespace, "emqx-ee-replicant")["status"].get("readyReplicas") == 4,
        "4 replicants",
        namespace,
        ("deployments",),
    )
    selector = kubectl.get("service", namespace, "emqx-ee")["spec"]["selector"]
    assert selector["app.kubernetes.io/name"] == "emqx-ee-replicant", "the client Service moves to the replicants"

    upgrade({"replicants": {"autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 6}}})
    assert replicant_count(kubectl, namespace) == 4, "turning autoscaling on keeps the running replicants"
    assert kubectl.get("hpa", namespace, "emqx-ee-replicant")["spec"]["minReplicas"] == 2
    upgrade({})
    assert replicant_count(kubectl, namespace) == 4, "a later upgrade leaves the HPA's count alone"

    tls = next(s for s in scenarios() if s.name == "15-tls-existing-secret").values
    before = {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods(kubectl, namespace)}
    upgrade(tls)
    wait_updated(kubectl, namespace, 3)
    after = pods(kubectl, namespace)
    assert all(p["metadata"]["uid"] != before[p["metadata"]["name"]] for p in after), "TLS on rolls the cores"
    mounts = {m["name"] for m in after[0]["spec"]["containers"][0]["volumeMounts"]}
    assert "tls" in mounts


def bootstrap_line(kubectl, namespace, secret="emqx-ee", key="api-key-bootstrap"):
    data = kubectl.get("secret", namespace, secret)["data"][key]
    return base64.b64decode(data).decode().strip()


def test_api_key_is_kept_across_upgrades_and_a_new_role_rolls_the_nodes(release, kubectl, namespace):
    """The generated API secret lives as long as the release, like the cookie; EMQX reads the bootstrap file
    at boot, so a new key name or role restarts the nodes (NOTES say why)."""
    rel = release()
    rel.install(BASE)
    wait_ready(kubectl, namespace, 3)
    key, secret, role = bootstrap_line(kubectl, namespace).split(":")
    assert (key, role, len(secret)) == ("emqx-ee-helm", "viewer", 40)
    before = {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods(kubectl, namespace)}
    out = rel.upgrade(effective_values({"apiKey": {"role": "administrator"}}, BASE))
    assert "the API key changed" in out, out
    wait_updated(kubectl, namespace, 3)
    assert all(p["metadata"]["uid"] != before[p["metadata"]["name"]] for p in pods(kubectl, namespace))
    assert bootstrap_line(kubectl, namespace) == f"emqx-ee-helm:{secret}:administrator", "same secret, new role"

    kubectl.run("create", "secret", "generic", "ops-keys", "-n", namespace, "--from-literal=bootstrap.txt=ops:x:viewer")
    rel.upgrade(effective_values({"apiKey": {"existingSecret": "ops-keys"}}, BASE))
    sts = kubectl.get("statefulset", namespace, "emqx-ee")
    volume = next(v for v in sts["spec"]["template"]["spec"]["volumes"] if v["name"] == "api-key")
    assert volume["secret"]["secretName"] == "ops-keys"
    rel.upgrade(BASE)
    assert bootstrap_line(kubectl, namespace).split(":")[1] == secret, "switching back finds the generated secret"
