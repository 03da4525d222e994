"""Core and replicant nodes on a live cluster: replicants run as a Deployment, get pod IPs (their node host),
find the cores through the cores' SRV records (which list no replicant), take the MQTT clients, scale
without touching a core or its claim, and are driven by a HorizontalPodAutoscaler the API server accepts.

On kwok no EMQX runs: the replicants' joining the cluster itself is not observed, only everything EMQX's
DNS discovery and Erlang distribution rely on (names, records, addresses, Services)."""

import pytest

from harness.cluster import wait_until
from harness.helm import emqx_settings
from harness.statefulset import claims, node_host, pods, wait_ready, wait_updated

pytestmark = pytest.mark.smoke

HEADLESS = "emqx-ee-headless.{ns}.svc.cluster.local"
BASE = {"replicaCount": 3, "minReadySeconds": 0, "license": {"key": "evaluation"}}


def replicants(kubectl, namespace):
    found = kubectl.get("pods", namespace, selector="app.kubernetes.io/name=emqx-ee-replicant")
    return [p for p in found if not p["metadata"].get("deletionTimestamp")]


def wait_replicants(kubectl, namespace, count):
    def ready():
        dep = kubectl.get("deployment", namespace, "emqx-ee-replicant")
        status = dep.get("status", {})
        return (
            status.get("observedGeneration") == dep["metadata"]["generation"]
            and status.get("readyReplicas", 0) == count == status.get("replicas", 0)
            and len(replicants(kubectl, namespace)) == count
        )

    kubectl.wait_for(ready, f"{count} Ready replicants", namespace, ("deployments", "pods"), timeout=180)


def test_replicants_find_only_cores_and_serve_the_clients(release, kubectl, dns, namespace):
    release().install({**BASE, "replicants": {"enabled": True, "replicaCount": 2}})
    wait_ready(kubectl, namespace, 3)
    wait_replicants(kubectl, namespace, 2)
    headless = HEADLESS.format(ns=namespace)
    cores = pods(kubectl, namespace)
    hosts = {node_host(p) for p in cores}
    # CoreDNS follows the EndpointSlices, which lag the pods' readiness by a moment.
    wait_until(lambda: dns.srv_targets(headless) == hosts, f"SRV targets of {headless} = the cores", timeout=30)
    config = emqx_settings(kubectl.get("statefulset", namespace, "emqx-ee"))
    assert config["EMQX_CLUSTER__DNS__NAME"] == headless, "replicants query the cores' records"
    for pod in replicants(kubectl, namespace):
        env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
        assert env["EMQX_NODE__ROLE"]["value"] == "replicant"
        assert env["EMQX_HOST"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
        assert pod["status"]["podIP"], "the node host of a replicant is its pod IP"
    replicant_ips = {p["status"]["podIP"] for p in replicants(kubectl, namespace)}

    def client_endpoints():
        slices = kubectl.get("endpointslices", namespace, selector="kubernetes.io/service-name=emqx-ee")
        return {a for s in slices for e in s.get("endpoints") or [] for a in e["addresses"]}

    kubectl.wait_for(
        lambda: client_endpoints() == replicant_ips,
        "the client Service to point at the replicants",
        namespace,
        ("endpointslices",),
    )


def test_scaling_replicants_leaves_cores_and_claims_untouched(release, kubectl, namespace):
    rel = release()
    values = {**BASE, "replicants": {"enabled": True, "replicaCount": 2}}
    rel.install(values)
    wait_ready(kubectl, namespace, 3)
    wait_replicants(kubectl, namespace, 2)
    cores = {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods(kubectl, namespace)}
    core_claims = {n: c["metadata"]["uid"] for n, c in claims(kubectl, namespace).items()}
    for count in (5, 1):
        rel.upgrade({**values, "replicants": {"enabled": True, "replicaCount": count}})
        wait_replicants(kubectl, namespace, count)
        assert {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods(kubectl, namespace)} == cores
        assert {n: c["metadata"]["uid"] for n, c in claims(kubectl, namespace).items()} == core_claims


def test_the_api_server_accepts_the_autoscaler_and_it_finds_its_target(release, kubectl, namespace):
    release().install(
        {
            **BASE,
            "replicants": {
                "enabled": True,
                "autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 4},
            },
        }
    )
    wait_ready(kubectl, namespace, 3)
    wait_replicants(kubectl, namespace, 2)

    def able_to_scale():
        hpa = kubectl.get("hpa", namespace, "emqx-ee-replicant")
        conditions = {c["type"]: c for c in hpa.get("status", {}).get("conditions", [])}
        return conditions.get("AbleToScale", {}).get("status") == "True" and conditions

    conditions = kubectl.wait_for(
        able_to_scale, "the HPA controller to find the replicant Deployment", namespace, ("hpa",)
    )
    assert conditions["AbleToScale"]["reason"] != "FailedGetScale", conditions
    assert kubectl.get("pdb", namespace, "emqx-ee-replicant")["spec"]["maxUnavailable"] == 1


def test_paused_replicants_wait_while_the_cores_upgrade(release, kubectl, namespace):
    """The procedure of docs/operations.md: Helm leaves a paused replicant rollout paused."""
    rel = release()
    values = {**BASE, "replicants": {"enabled": True, "replicaCount": 2}}
    rel.install(values)
    wait_ready(kubectl, namespace, 3)
    wait_replicants(kubectl, namespace, 2)
    before = {p["metadata"]["uid"] for p in replicants(kubectl, namespace)}
    kubectl.run("rollout", "pause", "deployment/emqx-ee-replicant", "-n", namespace)
    out = rel.upgrade({**values, "image": {"tag": "6.2.3"}})
    assert "The replicants roll at the same time" in out and "docs/operations.md" in out, out
    wait_updated(kubectl, namespace, 3)
    assert {p["metadata"]["uid"] for p in replicants(kubectl, namespace)} == before, "paused replicants must wait"
    kubectl.run("rollout", "resume", "deployment/emqx-ee-replicant", "-n", namespace)

    def rolled():
        now = replicants(kubectl, namespace)
        return len(now) == 2 and all(p["spec"]["containers"][0]["image"].endswith(":6.2.3") for p in now)

    kubectl.wait_for(rolled, "the replicants to roll after resume", namespace)
    assert not before & {p["metadata"]["uid"] for p in replicants(kubectl, namespace)}
