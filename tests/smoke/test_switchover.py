"""Switch-overs without a gap on a live cluster.

The client Service: enabling replicants on a running release keeps the MQTT clients on the cores until every
replicant is Ready (kwok holds each pod back for its kwok.emqx-ee.test/boot-delay, as an EMQX node boots; an
upgrade while one is not Ready holds too), the next upgrade moves them to the replicants, where they stay
while any replicant is Ready, and disabling replicants moves them back to the cores. A watch on the client
Service's EndpointSlices records every state the EndpointSlice controller writes: the Service never has no
Ready endpoint. With no replicant Ready at all (held out of Ready through kwok.emqx-ee.test/not-ready), an
upgrade hands the clients to the cores until the replicants are back.

A port change: while pods of the old revision still listen on a listener's or the dashboard's old port, the
NetworkPolicy admits the old port as well as the new one, judged by the policy engine (harness.netpol) over
the live pods and their declared ports (kwok enforces no policy); the first upgrade after the roll drops it.
A listener turned off in the same upgrade is closed at once, although old pods still declare it.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from typing import Any

import pytest
import urllib3
from kubernetes import watch
from kubernetes.client.exceptions import ApiException

from harness.cluster import Kubectl
from harness.netpol import External, Pod, truth_table
from harness.statefulset import is_ready, pods, ready_since, wait_ready, wait_updated
from harness.tools import helm as helm_cli

pytestmark = pytest.mark.smoke

BOOT_DELAY = 3  # seconds; read by the pod-ready stage of scripts/cluster/kwok-stages.yaml
BASE = {
    "replicaCount": 2,
    "minReadySeconds": 0,
    "license": {"key": "evaluation"},
    "tls": {"testCertificate": True},  # mqtts without a certificate (test_secure_defaults.py)
    "podAnnotations": {"kwok.emqx-ee.test/boot-delay": f"{BOOT_DELAY}s"},
}
CORES = {"app.kubernetes.io/name": "emqx-ee", "app.kubernetes.io/instance": "emqx-ee"}
REPLICANTS = {"app.kubernetes.io/name": "emqx-ee-replicant", "app.kubernetes.io/instance": "emqx-ee"}
MEMBER = {"emqx-ee/cluster": "emqx-ee"}  # what the NetworkPolicy selects: cores and replicants


class EndpointHistory:
    """Every set of Ready addresses the EndpointSlices of one Service held, in order, from a watch (a watch
    delivers every change, so no state between two polls goes unseen)."""

    def __init__(self, kubectl: Kubectl, namespace: str, service: str):
        self.api, self.namespace = kubectl.api, namespace
        self.selector = f"kubernetes.io/service-name={service}"
        self.states: list[frozenset[str]] = []
        self.slices: dict[str, list[dict[str, Any]]] = {}
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> EndpointHistory:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)

    def _note(self) -> None:
        # An endpoint without a ready condition counts as ready (the EndpointSlice API's reading of nil).
        ready = frozenset(
            a
            for endpoints in self.slices.values()
            for e in endpoints
            if (e.get("conditions") or {}).get("ready", True)
            for a in e["addresses"]
        )
        if not self.states or self.states[-1] != ready:
            self.states.append(ready)

    def _list(self, resource: Any) -> str:
        """The slices as they are now, as one state; the version to watch from."""
        found = json.loads(resource.get(namespace=self.namespace, label_selector=self.selector, serialize=False).data)
        self.slices = {s["metadata"]["name"]: s.get("endpoints") or [] for s in found["items"]}
        self._note()
        return found["metadata"]["resourceVersion"]

    def _watch(self) -> None:
        resource = self.api.resource("endpointslices")
        version = None
        while not self.stopped.is_set():
            try:
                version = version or self._list(resource)
                for event in watch.Watch().stream(
                    resource.get,
                    namespace=self.namespace,
                    label_selector=self.selector,
                    serialize=False,
                    timeout_seconds=5,
                    resource_version=version,
                ):
                    if event["type"] == "ERROR":
                        raise ApiException(reason=str(event["raw_object"]))
                    obj = event["raw_object"]
                    version = obj["metadata"]["resourceVersion"]
                    if event["type"] == "DELETED":
                        self.slices.pop(obj["metadata"]["name"], None)
                    elif event["type"] in ("ADDED", "MODIFIED"):
                        self.slices[obj["metadata"]["name"]] = obj.get("endpoints") or []
                    self._note()
                    if self.stopped.is_set():
                        return
            except ApiException:  # 410 Gone: list again, as one state, and watch from there
                version = None
            except (urllib3.exceptions.HTTPError, OSError):
                time.sleep(0.2)

    def wait_for(self, kubectl: Kubectl, addresses: set[str], what: str) -> None:
        kubectl.wait_for(
            lambda: self.states and self.states[-1] == addresses, what, self.namespace, ("endpointslices",)
        )

    def start_at(self, kubectl: Kubectl, addresses: set[str], what: str) -> None:
        """Wait for `addresses`, and forget the states before (the EndpointSlice controller may not have caught
        up with the pods when the watch began)."""
        self.wait_for(kubectl, addresses, what)
        del self.states[: len(self.states) - 1]


def replicant_pods(kubectl, namespace):
    found = kubectl.get("pods", namespace, selector="app.kubernetes.io/name=emqx-ee-replicant")
    return [p for p in found if not p["metadata"].get("deletionTimestamp")]


def wait_replicants(kubectl, namespace, count):
    def ready():
        dep = kubectl.get("deployment", namespace, "emqx-ee-replicant")
        status = dep.get("status", {})
        current = replicant_pods(kubectl, namespace)
        return (
            status.get("observedGeneration") == dep["metadata"]["generation"]
            and status.get("readyReplicas", 0) == count == len(current)
            and all(is_ready(p) for p in current)
        )

    kubectl.wait_for(ready, f"{count} Ready replicants", namespace, ("deployments", "pods"), timeout=120)


def ips(found):
    return {p["status"]["podIP"] for p in found}


def seconds(timestamp):
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


NOT_READY = "kwok.emqx-ee.test/not-ready"  # kwok's pod-ready stage leaves a pod with it alone


def set_ready(kubectl, namespace, pod, ready):
    """A replicant's readiness probe starts failing or passes again: the annotation keeps kwok from reporting
    the pod Ready meanwhile, the status patch is what the kubelet would post (as in test_drills.py)."""
    name = pod["metadata"]["name"]
    kubectl.run("annotate", "pod", name, "-n", namespace, f"{NOT_READY}-" if ready else f"{NOT_READY}=hold")
    status = "True" if ready else "False"
    conditions = [{"type": t, "status": status} for t in ("ContainersReady", "Ready")]
    patch = json.dumps({"status": {"conditions": conditions}})
    kubectl.run("patch", "pod", name, "-n", namespace, "--subresource=status", "--type=strategic", "-p", patch)


def ready_replicants(kubectl, namespace, count):
    def done():
        dep = kubectl.get("deployment", namespace, "emqx-ee-replicant")
        status = dep.get("status", {})
        current = status.get("observedGeneration") == dep["metadata"]["generation"]
        return current and status.get("readyReplicas", 0) == count

    kubectl.wait_for(done, f"{count} Ready replicants", namespace, ("deployments", "pods"))


def test_enabling_and_disabling_replicants_never_leaves_the_client_service_without_endpoints(
    release, kubectl, namespace
):
    rel = release()
    rel.install(BASE)
    wait_ready(kubectl, namespace, 2)
    core_uids = {p["metadata"]["uid"] for p in pods(kubectl, namespace)}
    core_ips = ips(pods(kubectl, namespace))
    enabled = {**BASE, "replicants": {"enabled": True, "replicaCount": 2}}

    def selector():
        return kubectl.get("service", namespace, "emqx-ee")["spec"]["selector"]

    with EndpointHistory(kubectl, namespace, "emqx-ee") as history:
        history.start_at(kubectl, core_ips, "the client Service to serve from the cores")

        out = rel.upgrade(enabled)
        assert selector() == CORES, "held on the cores while no replicant is Ready"
        assert "sends the MQTT clients to the cores" in out and "0 of 2" in out, out
        assert "rollout status deployment/emqx-ee-replicant" in out, out
        wait_replicants(kubectl, namespace, 2)
        booted = replicant_pods(kubectl, namespace)
        # The boot delay held the replicants back (timestamps have whole seconds): the switch had a gap to avoid.
        assert all(
            seconds(ready_since(p)) - seconds(p["metadata"]["creationTimestamp"]) >= BOOT_DELAY - 1 for p in booted
        ), "no boot delay seen"

        # Not while one of them is not Ready: the clients would crowd onto the others.
        set_ready(kubectl, namespace, booted[0], False)
        ready_replicants(kubectl, namespace, 1)
        out = rel.upgrade(enabled)
        assert selector() == CORES and "1 of 2" in out, out
        set_ready(kubectl, namespace, booted[0], True)
        ready_replicants(kubectl, namespace, 2)

        out = rel.upgrade(enabled)
        assert selector() == REPLICANTS
        assert "sends MQTT clients to them" in out and "to the cores" not in out, out
        history.wait_for(kubectl, ips(booted), "the client Service to serve from the replicants")

        # Once there, the Service stays with the replicants while one of them is not Ready (as during a
        # scale-up or a roll): the cores do not take the clients back.
        set_ready(kubectl, namespace, booted[0], False)
        ready_replicants(kubectl, namespace, 1)
        out = rel.upgrade(enabled)
        assert selector() == REPLICANTS, "no step back to the cores while a replicant is Ready"
        assert "to the cores" not in out, out
        gradual = list(history.states)
    assert all(gradual), f"the client Service had no Ready endpoint at some point: {gradual}"
    assert ips(booted) in gradual, "the watch saw the replicants serve"

    # With no replicant Ready at all, an upgrade sends the clients to the cores until the replicants are back.
    set_ready(kubectl, namespace, booted[1], False)
    ready_replicants(kubectl, namespace, 0)
    out = rel.upgrade(enabled)
    assert selector() == CORES, "a replicant Deployment with none Ready hands the clients to the cores"
    assert "sends the MQTT clients to the cores" in out and "0 of 2" in out, out

    with EndpointHistory(kubectl, namespace, "emqx-ee") as history:
        history.start_at(kubectl, core_ips, "the client Service to serve from the cores")
        for pod in booted:
            set_ready(kubectl, namespace, pod, True)
        wait_replicants(kubectl, namespace, 2)
        rel.upgrade(enabled)
        assert selector() == REPLICANTS
        history.wait_for(kubectl, ips(booted), "the replicants to serve again")

        rel.upgrade(BASE)
        assert selector() == CORES
        history.wait_for(kubectl, core_ips, "the client Service to serve from the cores again")
        back_and_off = list(history.states)
    assert all(back_and_off), f"the client Service had no Ready endpoint at some point: {back_and_off}"
    assert {p["metadata"]["uid"] for p in pods(kubectl, namespace)} == core_uids, "no core restarted"


PROBED = (8083, 8883, 9883, 18083, 18084)  # ws (turned off), the old and new mqtts and dashboard ports


def admitted(kubectl, namespace, client):
    """The ports of PROBED that the live NetworkPolicy lets `client` reach on an EMQX pod of this release."""
    policies = kubectl.get("networkpolicy", namespace)
    node = Pod(namespace, "member", MEMBER, "10.0.9.10", [(port, "TCP", "") for port in PROBED])
    peers = [node, client] if isinstance(client, Pod) else [node]
    externals = [client] if isinstance(client, External) else []
    table = truth_table(policies, {namespace: {}}, peers, [], externals=externals, default_namespace=namespace)
    return {port for (src, dst, port, _), ok in table.items() if ok and src == client.key and dst == node.key}


def declared(kubectl, namespace):
    """{pod: {port name: number}} of the live EMQX pods: what each pod listens on."""
    return {
        p["metadata"]["name"]: {port["name"]: port["containerPort"] for port in p["spec"]["containers"][0]["ports"]}
        for p in pods(kubectl, namespace)
    }


def test_a_port_change_keeps_the_old_port_admitted_until_every_pod_has_rolled(release, kubectl, namespace):
    """Helm 3 here (the replicant switch runs with Helm 4): lookup behaves the same in both."""
    rel = release(helm=helm_cli(3))
    base = {**BASE, "podAnnotations": {}}
    rel.install(base)
    wait_ready(kubectl, namespace, 2)
    # mqtts and the dashboard move; ws is turned off, which closes its port at once (pods still declare it).
    listeners = {"mqtts": {"containerPort": 9883}, "ws": {"enabled": False}}
    moved = {**base, "listeners": listeners, "dashboard": {"containerPort": 18084}}
    internet = External("203.0.113.7")
    neighbour = Pod(namespace, "neighbour", {"app": "neighbour"}, "10.0.9.9")

    # Partition 1: emqx-ee-1 rolls to the new ports, emqx-ee-0 stays on the old ones.
    out = rel.upgrade({**moved, "updateStrategy": {"rollingUpdate": {"partition": 1}}})
    assert "still admits the old listeners.mqtts port 8883, dashboard port 18083" in out, out
    wait_updated(kubectl, namespace, 1)
    ports = declared(kubectl, namespace)
    assert (ports["emqx-ee-0"]["mqtts"], ports["emqx-ee-1"]["mqtts"]) == (8883, 9883), ports
    assert (ports["emqx-ee-0"]["dashboard"], ports["emqx-ee-1"]["dashboard"]) == (18083, 18084), ports
    assert ports["emqx-ee-0"]["ws"] == 8083 and "ws" not in ports["emqx-ee-1"], ports
    assert admitted(kubectl, namespace, internet) == {8883, 9883}, "MQTT clients reach the old and the new port"
    assert admitted(kubectl, namespace, neighbour) == {8883, 9883, 18083, 18084}, "both dashboard ports too"

    # The StatefulSet's template has the new ports already, but emqx-ee-0 still listens on the old ones.
    out = rel.upgrade(moved)
    assert "still admits the old listeners.mqtts port 8883, dashboard port 18083" in out, out
    assert admitted(kubectl, namespace, internet) == {8883, 9883}
    wait_updated(kubectl, namespace, 2)

    out = rel.upgrade(moved)
    assert "still admits" not in out, out
    assert admitted(kubectl, namespace, internet) == {9883}, "the old MQTT port is dropped after the roll"
    assert admitted(kubectl, namespace, neighbour) == {9883, 18084}, "the old dashboard port too"
