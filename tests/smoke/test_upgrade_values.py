"""Day 2 for the values added with listeners, the dashboard Service, replicants, autoscaling, TLS, the
NetworkPolicy, the Ingresses and the metrics setting: each change, made with `helm upgrade` on one running
release, is accepted and lands as documented: Services and their endpoints follow, pods roll when their
template changes, and turning autoscaling on never drops the running replicants to one (the Deployment
keeps its live count until the HPA decides)."""

import base64

import pytest

from harness.helm import emqx_settings
from harness.scenarios import effective_values, scenarios
from harness.statefulset import pods, wait_ready, wait_updated

pytestmark = [pytest.mark.smoke, pytest.mark.day2]

# mqtts and wss without a certificate: EMQX's test certificate, asked for (test_secure_defaults.py).
BASE = {"replicaCount": 3, "minReadySeconds": 0, "license": {"key": "evaluation"}, "tls": {"testCertificate": True}}


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
    assert selector["app.kubernetes.io/name"] == "emqx-ee", "held on the cores by the upgrade that creates them"

    upgrade({"replicants": {"autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 6}}})
    selector = kubectl.get("service", namespace, "emqx-ee")["spec"]["selector"]
    assert selector["app.kubernetes.io/name"] == "emqx-ee-replicant", "the next upgrade moves the clients to them"
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


def test_network_policy_ingress_and_metrics_changes_on_a_running_release(release, kubectl, namespace):
    """NetworkPolicy, Ingress and the metrics setting changed on a running release: policies and Ingresses
    follow without restarting a node (they are not in the pod template), while metrics.basicAuth is EMQX
    configuration and rolls every node, highest ordinal first. (The ServiceMonitor's day 2 is in
    test_metrics.py, which serves its API.)"""
    values = dict(BASE)
    rel = release()
    rel.install(values)
    wait_ready(kubectl, namespace, 3)
    uids = {p["metadata"]["uid"] for p in pods(kubectl, namespace)}

    def upgrade(change):
        nonlocal values
        values = effective_values(change, values)
        rel.upgrade(values)

    def names(kind):
        return sorted(o["metadata"]["name"] for o in kubectl.get(kind, namespace))

    assert names("networkpolicies") == ["emqx-ee"]
    settings = emqx_settings(kubectl.get("statefulset", namespace, "emqx-ee"))
    assert settings["EMQX_PROMETHEUS__ENABLE_BASIC_AUTH"] == "true"
    iot = [{"namespaceSelector": {"matchLabels": {"iot": "true"}}}]
    upgrade({"networkPolicy": {"clients": {"from": iot}}})
    rules = kubectl.get("networkpolicy", namespace, "emqx-ee")["spec"]["ingress"]
    assert any(rule.get("from") == iot for rule in rules), rules
    upgrade({"networkPolicy": {"enabled": False}})
    assert names("networkpolicies") == [], "turning the policy off removes it"

    hosts = {"dashboard": "emqx.example.com", "ws": "mqtt.example.com"}
    upgrade(
        {"ingress": {kind: {"enabled": True, "className": "nginx", "hosts": [host]} for kind, host in hosts.items()}}
    )
    assert names("ingresses") == ["emqx-ee-dashboard", "emqx-ee-ws"]
    rule = kubectl.get("ingress", namespace, "emqx-ee-ws")["spec"]["rules"][0]
    assert rule["host"] == "mqtt.example.com" and rule["http"]["paths"][0]["path"] == "/mqtt"
    upgrade({"ingress": {"dashboard": {"enabled": False}}})
    assert names("ingresses") == ["emqx-ee-ws"]
    assert {p["metadata"]["uid"] for p in pods(kubectl, namespace)} == uids, "no node restarted for policies"

    upgrade({"metrics": {"basicAuth": False}})
    wait_updated(kubectl, namespace, 3)
    assert not uids & {p["metadata"]["uid"] for p in pods(kubectl, namespace)}, "every node rolled"
    config = emqx_settings(kubectl.get("statefulset", namespace, "emqx-ee"))
    assert "EMQX_PROMETHEUS__ENABLE_BASIC_AUTH" not in config, "basic auth off: EMQX's default (no auth) applies"
