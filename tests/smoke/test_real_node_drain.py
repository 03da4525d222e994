"""Drain before stop (files/drain.sh, the preStop hook) on the real node, for the stops issue #22 names, with
the EMQX stand-in (scripts/node/emqx_standin, a model of EMQX 6.2.2's node evacuation, not EMQX) and real MQTT
clients in a pod of their own:
- a pod deleted with a grace period shorter than its drain is killed half-way, with the evacuation saved on
  its claim; the StatefulSet's new pod boots on that claim, the chart's boot step ends the saved evacuation,
  and a client connects again by itself;
- the replicants' HorizontalPodAutoscaler scales in for real, and the removed replicant's preStop evacuates
  its client before the kubelet's SIGTERM;
- evictions through the eviction API, exactly as `kubectl drain` sends them, go through the PodDisruptionBudget
  one pod at a time, and each evicted pod's preStop evacuates its client before SIGTERM.

A one-node release sees no other node to hand its clients to, and drain.sh would stop at once (its one-node
path). The `peer` fault adds a session recipient to those `rebalance node-status` lists (the other running
nodes, as EMQX lists them), so the drain waits for its clients to leave: EMQX's evacuation first waits
`--wait-health-check` seconds, then closes them (the stand-in models both).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import CoreV1Api
from kubernetes.client.exceptions import ApiException

from harness.cluster import STATE, Kubectl, Release
from harness.real_node import image, logs, on_real_node, up
from harness.statefulset import wait_ready
from harness.tools import tool

pytestmark = pytest.mark.smoke

UID = 1000
FAULTS = "/opt/emqx/data/.standin-faults"
DRAIN = "emqx-ee drain:"
# The clients below connect anonymously, which the chart's authenticator (on for new installs) refuses, as the
# stand-in does: these releases turn it off, and the legacy profile lets anonymous clients in.
ANONYMOUS = {"enabled": False}
# An MQTT 3.1.1 client per target (NAME=HOST:PORT arguments): it connects (CONNACK 0), holds the connection
# until the broker closes it, and tries again every half second; one JSON line per event, with the time.
CLIENT = r"""
import json, socket, sys, threading, time
lock = threading.Lock()
def log(target, event, detail=""):
    line = json.dumps({"t": time.time(), "target": target, "event": event, "detail": detail}) + "\n"
    with lock:  # one whole line at a time from the clients' threads
        sys.stdout.write(line)
        sys.stdout.flush()
def run(target, host, port):
    attempt = 0
    while True:
        attempt += 1
        try:
            c = socket.create_connection((host, int(port)), timeout=3)
            cid = f"{target}-{attempt}".encode()
            body = b"\x00\x04MQTT\x04\x02\x00\x00" + len(cid).to_bytes(2, "big") + cid
            c.sendall(bytes([0x10, len(body)]) + body)
            ack = c.recv(4)
            if ack != b"\x20\x02\x00\x00":
                raise ConnectionError(f"no CONNACK: {ack!r}")
        except OSError as err:
            log(target, "refused", str(err))
            time.sleep(0.5)
            continue
        log(target, "connected")
        c.settimeout(None)
        try:
            c.recv(1)
        except OSError:
            pass
        log(target, "closed")
        c.close()
for arg in sys.argv[1:]:
    name, _, address = arg.partition("=")
    host, _, port = address.rpartition(":")
    threading.Thread(target=run, args=(name, host, port), daemon=True).start()
threading.Event().wait()
"""


def start_clients(kubectl: Kubectl, namespace: str, node: dict[str, str], targets: dict[str, str]) -> None:
    """The client pod on the real node (Pod Security restricted), one client per target, each connected."""
    label = node["NODE_LABEL"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "clients", "namespace": namespace},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "automountServiceAccountToken": False,
            "nodeSelector": {label: "true"},
            "tolerations": [{"key": label, "operator": "Exists", "effect": "NoSchedule"}],
            "securityContext": {"runAsUser": UID, "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": "clients",
                    "image": image("debian"),
                    "imagePullPolicy": "Never",
                    "command": ["python3", "-B", "-u", "-c", CLIENT, *(f"{k}={v}" for k, v in targets.items())],
                    "securityContext": {
                        "readOnlyRootFilesystem": True,
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                    },
                }
            ],
        },
    }
    kubectl.run("apply", "-f", "-", stdin=json.dumps(pod))
    kubectl.wait_for(
        lambda: set(targets) <= {e["target"] for e in client_events(kubectl, namespace) if e["event"] == "connected"},
        f"a client connected to each of {sorted(targets)}",
        namespace,
        ("pods",),
        timeout=90,
    )


def client_events(kubectl: Kubectl, namespace: str) -> list[dict[str, Any]]:
    out = kubectl.run("logs", "-n", namespace, "clients", check=False).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def add_fault(kubectl: Kubectl, namespace: str, pod: str, fault: str) -> None:
    kubectl.run("exec", "-n", namespace, pod, "-c", "emqx", "--", "sh", "-c", f"echo {fault} >>{FAULTS}")


def follow(kubectl: Kubectl, namespace: str, pod: str) -> subprocess.Popen:
    """`kubectl logs -f --timestamps` of a pod's emqx container, from now until the container stops."""
    return subprocess.Popen(
        [tool("kubectl"), "--kubeconfig", kubectl.kubeconfig, "logs", "-f", "--timestamps", "-n", namespace, pod]
        + ["-c", "emqx"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def followed(proc: subprocess.Popen, timeout: float) -> list[tuple[float, str]]:
    """The followed log as (time, line) once the container stopped (its stream ends)."""
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        proc.kill()
    lines = []
    for line in out.splitlines():
        stamp, _, text = line.partition(" ")
        try:
            lines.append((datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp(), text))
        except ValueError:
            lines.append((0.0, line))
    return lines


def first(lines: list[tuple[float, str]], text: str) -> float:
    found = [t for t, line in lines if text in line]
    assert found, f"{text!r} is not in the log:\n" + "\n".join(line for _, line in lines)
    return found[0]


def evacuated_before_sigterm(
    lines: list[tuple[float, str]], events: list[dict[str, Any]], target: str, grace: int
) -> None:
    """The preStop drain evacuated the node, its client was closed after the evacuation began and before the
    kubelet's SIGTERM, and the drain ended with no connection left, within the grace period."""
    started = first(lines, f"{DRAIN} evacuating")
    drained = first(lines, f"{DRAIN} drained: no connections")
    sigterm = first(lines, "emqx-standin: stopping (SIGTERM)")
    closes = [e["t"] for e in events if e["target"] == target and e["event"] == "closed" and e["t"] >= started - 1]
    assert closes, f"the client of {target} was never closed: {events}"
    assert started <= closes[0] < sigterm, (
        f"{target}: drain at {started}, client closed at {closes[0]}, SIGTERM at {sigterm}: "
        "the client must go before SIGTERM"
    )
    assert started <= drained <= sigterm and sigterm - started < grace, (started, drained, sigterm, grace)


# --- killed in the middle of its drain --------------------------------------------------------------------


@pytest.fixture
def local_volume(real_node, kubectl, namespace):
    """A local PersistentVolume on the real node (a directory under $STATE/node, which `node.sh down` removes),
    owned by the pods' uid, in a StorageClass of its own, so that no volume of the kwok pool (hostPath
    directories that do not exist on the real node) is picked; the objects are removed afterwards."""
    name = f"real-node-{namespace}"
    path = Path(STATE) / "node" / "volumes" / namespace
    path.mkdir(parents=True)
    os.chown(path, UID, UID)
    storage_class = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name},
        "provisioner": "kubernetes.io/no-provisioner",
        "volumeBindingMode": "WaitForFirstConsumer",
    }
    volume = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": name,
            "local": {"path": str(path)},
            "nodeAffinity": {
                "required": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": "kubernetes.io/hostname", "operator": "In", "values": [real_node["NODE_NAME"]]}
                            ]
                        }
                    ]
                }
            },
        },
    }
    kubectl.run(
        "apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": [storage_class, volume]})
    )
    yield name
    kubectl.run("delete", "pv", name, "--wait=false", check=False)
    kubectl.run("delete", "storageclass", name, check=False)


def test_a_pod_killed_mid_drain_comes_back_on_its_claim_and_serves_clients_again(
    standin_node, release, kubectl, namespace, local_volume
):
    rel: Release = release()
    rel.install(
        on_real_node(
            standin_node,
            persistence={"enabled": True, "storageClass": local_volume, "size": "1Gi"},
            mqttAuth=ANONYMOUS,
            # A drain that lasts: EMQX waits 50 s before it evicts, longer than the deletion's grace period.
            gracefulShutdown={"timeoutSeconds": 60, "waitHealthCheck": 50},
        )
    )
    up(kubectl, namespace, 1)
    claim = kubectl.get("pvc", namespace, "emqx-data-emqx-ee-0")
    add_fault(kubectl, namespace, "emqx-ee-0", "peer")
    start_clients(kubectl, namespace, standin_node, {"node-0": f"emqx-ee.{namespace}.svc.cluster.local:1883"})
    old = kubectl.get("pod", namespace, "emqx-ee-0")["metadata"]["uid"]

    log = follow(kubectl, namespace, "emqx-ee-0")
    time.sleep(1)
    killed_at = time.time()
    kubectl.run("delete", "pod", "-n", namespace, "emqx-ee-0", "--grace-period=5", "--wait=false")
    lines = followed(log, timeout=60)
    first(lines, f"{DRAIN} evacuating")
    # At the end of the 5 s grace period the kubelet stops EMQX, and the drain may still see it stop answering
    # before it is killed in turn: that line is the kill, not an end of the drain.
    ended = [
        line
        for t, line in lines
        if DRAIN in line and "evacuating" not in line and not ("EMQX stopped answering" in line and t >= killed_at + 5)
    ]
    assert not ended, f"the drain ended before the pod was killed: {ended}"

    def serving_again() -> dict | None:
        """The new emqx-ee-0 once Ready (listed, not read by name: between the two pods there is none)."""
        for pod in kubectl.get("pods", namespace):
            statuses = pod["status"].get("containerStatuses") or [{"ready": False}]
            if (
                pod["metadata"]["name"] == "emqx-ee-0"
                and pod["metadata"]["uid"] != old
                and all(c["ready"] for c in statuses)
            ):
                return pod
        return None

    pod = kubectl.wait_for(serving_again, "the new emqx-ee-0 Ready", namespace, ("pods",), timeout=120)
    volume = next(v for v in pod["spec"]["volumes"] if v.get("persistentVolumeClaim"))
    assert volume["persistentVolumeClaim"]["claimName"] == "emqx-data-emqx-ee-0"
    assert kubectl.get("pvc", namespace, "emqx-data-emqx-ee-0")["metadata"]["uid"] == claim["metadata"]["uid"]
    booted = logs(kubectl, namespace, "emqx-ee-0")
    # The evacuation was saved on the claim; the chart's boot step ended it before EMQX started.
    assert "clearing the node evacuation saved before the last stop" in booted, booted
    assert "restoring_evacuation_state" not in booted, booted
    status = kubectl.run(
        "exec", "-n", namespace, "emqx-ee-0", "-c", "emqx", "--", "emqx", "ctl", "rebalance", "node-status"
    )
    assert status.stdout.strip() == "Rebalance disabled", status.stdout

    def reconnected() -> bool:
        events = client_events(kubectl, namespace)
        closed = [e["t"] for e in events if e["event"] == "closed" and e["t"] >= killed_at]
        return bool(closed) and any(e["event"] == "connected" and e["t"] > closed[0] for e in events)

    kubectl.wait_for(reconnected, "the client connected again to the restarted node", namespace, ("pods",), timeout=60)


# --- HPA scale-in of replicants ---------------------------------------------------------------------------


def replicant_values(node: dict[str, str], low: int, high: int) -> dict[str, Any]:
    values = on_real_node(
        node,
        license={"key": "evaluation"},
        mqttAuth=ANONYMOUS,
        gracefulShutdown={"timeoutSeconds": 30, "waitHealthCheck": 2},
    )
    placement = {k: values[k] for k in ("nodeSelector", "tolerations", "resources")}
    autoscaling = {"enabled": True, "minReplicas": low, "maxReplicas": high}
    return values | {"replicants": {"enabled": True, "autoscaling": autoscaling, **placement}}


def test_an_hpa_scale_in_drains_the_removed_replicant_before_it_stops(standin_node, release, kubectl, namespace):
    """No metrics server runs here: the HPA controller scales a target above maxReplicas down to it without
    reading metrics (k8s.io/kubernetes v1.36.3 pkg/controller/podautoscaler/horizontal.go reconcileAutoscaler:
    "Current number of replicas above Spec.MaxReplicas", needsMetricComputation false). The HPA's maximum is
    lowered on the object, as metrics falling would lower its target: a `helm upgrade` lowering
    replicants.autoscaling.maxReplicas would scale the Deployment itself (the chart renders the live count
    within the HPA's bounds), and the HPA controller would have nothing left to do."""
    rel: Release = release()
    rel.install(replicant_values(standin_node, 2, 2))
    up(kubectl, namespace, 3, cores=1)  # the HPA raises the Deployment to minReplicas
    replicants = {
        p["metadata"]["name"]: p
        for p in kubectl.get("pods", namespace, selector="app.kubernetes.io/component=replicant")
    }
    assert len(replicants) == 2, sorted(replicants)
    for name in replicants:
        add_fault(kubectl, namespace, name, "peer")
    start_clients(kubectl, namespace, standin_node, {n: f"{p['status']['podIP']}:1883" for n, p in replicants.items()})
    logs_of = {name: follow(kubectl, namespace, name) for name in replicants}
    time.sleep(1)

    hpa = kubectl.get("hpa", namespace)[0]["metadata"]["name"]
    kubectl.run("patch", "hpa", hpa, "-n", namespace, "--type=merge", '-p={"spec":{"minReplicas":1,"maxReplicas":1}}')

    def removed() -> str | None:
        gone = [
            p
            for p in kubectl.get("pods", namespace)
            if p["metadata"]["name"] in replicants and p["metadata"].get("deletionTimestamp")
        ]
        return gone[0]["metadata"]["name"] if gone else None

    name = kubectl.wait_for(removed, "the HPA to scale the replicants in", namespace, ("pods",), timeout=90)
    grace = replicants[name]["spec"]["terminationGracePeriodSeconds"]
    lines = followed(logs_of.pop(name), timeout=grace + 30)
    for proc in logs_of.values():
        proc.kill()
    rescaled = [
        e["message"]
        for e in kubectl.get("events", namespace)
        if e["involvedObject"]["kind"] == "HorizontalPodAutoscaler"
        and e["involvedObject"]["name"] == hpa
        and e["reason"] == "SuccessfulRescale"
    ]
    assert "New size: 1; reason: Current number of replicas above Spec.MaxReplicas" in rescaled, rescaled
    evacuated_before_sigterm(lines, client_events(kubectl, namespace), name, grace)


# --- a node drain through the eviction API ----------------------------------------------------------------


def test_evictions_as_kubectl_drain_sends_them_go_through_the_budget_and_drain_each_node(
    standin_node, release, kubectl, namespace
):
    """`kubectl drain` cordons the node, then POSTs a policy/v1 Eviction for every pod and retries each one the
    PodDisruptionBudget refuses (429). The cordon is left out: other tests run pods on the real node at the
    same time, and a cordon would keep theirs from being scheduled; without it the StatefulSet brings each
    evicted pod back on the same node, which is what the budget waits for."""
    rel: Release = release()
    rel.install(
        on_real_node(
            standin_node,
            replicaCount=2,
            license={"key": "evaluation"},
            mqttAuth=ANONYMOUS,
            podManagementPolicy="Parallel",
            gracefulShutdown={"timeoutSeconds": 30, "waitHealthCheck": 2},
        )
    )
    up(kubectl, namespace, 2)
    pods = ["emqx-ee-0", "emqx-ee-1"]
    for pod in pods:
        add_fault(kubectl, namespace, pod, "peer")
    headless = f"emqx-ee-headless.{namespace}.svc.cluster.local"
    start_clients(kubectl, namespace, standin_node, {p: f"{p}.{headless}:1883" for p in pods})
    uids = {p: kubectl.get("pod", namespace, p)["metadata"]["uid"] for p in pods}
    grace = kubectl.get("pod", namespace, "emqx-ee-0")["spec"]["terminationGracePeriodSeconds"]
    logs_of = {p: follow(kubectl, namespace, p) for p in pods}
    time.sleep(1)

    core = CoreV1Api(kubectl.api.client.client)
    evicted: dict[str, float] = {}
    refusals: dict[str, list[str]] = {p: [] for p in pods}
    others_ready_at_eviction: dict[str, bool] = {}
    deadline = time.monotonic() + 150
    while len(evicted) < len(pods):
        assert time.monotonic() < deadline, f"evictions did not go through: {refusals}"
        for pod in pods:
            if pod in evicted:
                continue
            body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod, "namespace": namespace}}
            try:
                core.create_namespaced_pod_eviction(pod, namespace, body)
            except ApiException as err:
                assert err.status == 429, err
                refusals[pod].append(json.loads(err.body).get("message", ""))
                continue
            evicted[pod] = time.time()
            # Every other pod is Ready, and not the one evicted before: the budget let this one go.
            others_ready_at_eviction[pod] = all(
                any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
                and not p["metadata"].get("deletionTimestamp")
                for p in kubectl.get("pods", namespace, selector="app.kubernetes.io/component=core")
                if p["metadata"]["name"] != pod
            )
        time.sleep(1)  # kubectl drain waits 5 s between tries

    first_out, second_out = sorted(evicted, key=evicted.get)
    assert all(others_ready_at_eviction.values()), others_ready_at_eviction
    assert refusals[second_out], "the budget never held the second eviction back"
    assert "disruption budget" in refusals[second_out][0], refusals[second_out]
    for pod in pods:
        lines = followed(logs_of[pod], timeout=grace + 30)
        evacuated_before_sigterm(lines, client_events(kubectl, namespace), pod, grace)
    wait_ready(kubectl, namespace, 2, timeout=120)
    assert all(kubectl.get("pod", namespace, p)["metadata"]["uid"] != uids[p] for p in pods)
