"""Failure drills on the local cluster: what the chart promises when a node is drained, a node is lost, a
zone is closed, or every pod restarts at once, each with the recovery docs/operations.md describes.

kwok plays the kubelet (scripts/cluster/kwok-stages.yaml): a pod whose readiness fails is simulated by an
annotation plus a status patch, and a lost node by an annotated node that gets no more heartbeats and
pods whose deletion no kubelet confirms. The Kubernetes side (eviction API, PodDisruptionBudget,
node lifecycle taints, scheduler, StatefulSet controller) is real. What EMQX itself does through these
(re-joining, mnesia) cannot run here.

Drains, node loss and a closed zone act on whole nodes, so those drills run on three nodes of their own
(`drill_nodes`: one per zone, tainted so that only the drills' pods go there, removed afterwards). Other
tests can run on the cluster's own nodes at the same time.
"""

from __future__ import annotations

import copy
import json
import secrets
import time

import pytest
import yaml

from harness.cluster import wait_until
from harness.statefulset import claims, pods, wait_ready
from harness.tools import ROOT

pytestmark = pytest.mark.smoke
# Deleted even when the cluster itself is about to go (tests/smoke/conftest.py): the drill nodes must be empty
# before they are removed.
DELETE_NAMESPACES = True

BASE = {"replicaCount": 3, "minReadySeconds": 0, "license": {"key": "evaluation"}}
NOT_READY = "kwok.emqx-ee.test/not-ready"


DRILL = "emqx-ee.test/drill"
KWOK_NODES = ROOT / "scripts" / "cluster" / "kwok-nodes.yaml"


def drill_node(name: str, zone: str, tag: str) -> dict:
    """A kwok node like the cluster's own (scripts/cluster/kwok-nodes.yaml), in `zone`, that takes only pods
    tolerating the drill taint `tag`."""
    node = copy.deepcopy(next(n for n in yaml.safe_load_all(KWOK_NODES.read_text()) if n))
    node["metadata"]["name"] = name
    node["metadata"]["labels"].update({"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": zone, DRILL: tag})
    node["spec"] = {"taints": [{"key": DRILL, "value": tag, "effect": "NoSchedule"}]}
    return node


def node_ready(node: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in node.get("status", {}).get("conditions", []))


def recovered(node: dict) -> bool:
    """Ready, and without the taints the node controller puts on a node it does not see Ready (unreachable,
    not-ready)."""
    taints = node["spec"].get("taints") or []
    return node_ready(node) and not any(t["key"].startswith("node.kubernetes.io/") for t in taints)


@pytest.fixture(scope="module")
def drill_nodes(cluster, kubectl):
    """Three nodes for the drills, one per zone; yields the values that place the release on them."""
    if cluster.runtime != "kwok":
        yield BASE  # kind's nodes are containers: the drills use the cluster's own (run them alone there)
        return
    tag = secrets.token_hex(3)
    names = [f"drill-{tag}-{zone}" for zone in "abc"]
    nodes = [drill_node(name, f"zone-{zone}", tag) for name, zone in zip(names, "abc", strict=True)]
    kubectl.run("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": nodes}))
    kubectl.wait_for(
        lambda: all(node_ready(n) for n in kubectl.get("nodes", None, selector=f"{DRILL}={tag}")),
        "the drill nodes to be Ready",
        None,
        ("nodes",),
    )
    yield {
        **BASE,
        "nodeSelector": {DRILL: tag},
        "tolerations": [{"key": DRILL, "operator": "Equal", "value": tag, "effect": "NoSchedule"}],
    }

    def drained():
        return not [p for p in kubectl.get("pods", None) if p["spec"].get("nodeName") in names]

    # The test namespaces are being deleted: let kwok finish their pods before the nodes go.
    kubectl.wait_for(drained, "the drill nodes to run no pod", None, ("pods",), timeout=180)
    kubectl.run("delete", "node", *names, "--wait=false")


def assert_drill_node(kubectl, node: str, placement: dict) -> None:
    """The drill acts on one of its own nodes (on kwok), never on a node other tests use."""
    if "nodeSelector" in placement:
        labels = kubectl.get("node", None, node)["metadata"]["labels"]
        assert labels.get(DRILL) == placement["nodeSelector"][DRILL], f"{node} is not a drill node"


def pod(kubectl, namespace, name):
    return kubectl.get("pod", namespace, name)


def node_of(kubectl, namespace, name):
    return pod(kubectl, namespace, name)["spec"]["nodeName"]


def fail_readiness(kubectl, namespace, name):
    """The pod's readiness probe starts failing: the annotation keeps kwok from reporting it Ready, the
    status patch is what the kubelet would post."""
    kubectl.run("annotate", "pod", name, "-n", namespace, f"{NOT_READY}=true")
    status = {
        "status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "ContainersReady", "status": "False"}]}
    }
    kubectl.run(
        "patch", "pod", name, "-n", namespace, "--subresource=status", "--type=strategic", "-p", json.dumps(status)
    )


def pass_readiness(kubectl, namespace, name):
    kubectl.run("annotate", "pod", name, "-n", namespace, f"{NOT_READY}-")
    status = {
        "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "ContainersReady", "status": "True"}]}
    }
    kubectl.run(
        "patch", "pod", name, "-n", namespace, "--subresource=status", "--type=strategic", "-p", json.dumps(status)
    )


def disruptions_allowed(kubectl, namespace):
    return kubectl.get("pdb", namespace, "emqx-ee").get("status", {}).get("disruptionsAllowed")


def drain(kubectl, node, timeout="20s"):
    return kubectl.run(
        "drain", node, "--ignore-daemonsets", "--delete-emptydir-data", f"--timeout={timeout}", check=False
    )


@pytest.fixture
def uncordon(kubectl):
    nodes = []
    yield nodes.append
    for node in nodes:
        kubectl.run("uncordon", node, check=False)


def test_drain_goes_through_the_disruption_budget_and_the_pod_keeps_its_name_and_claim(
    release, kubectl, namespace, uncordon, drill_nodes
):
    rel = release()
    rel.install(drill_nodes)
    wait_ready(kubectl, namespace, 3)
    before = {name: c["metadata"]["uid"] for name, c in claims(kubectl, namespace).items()}
    target = "emqx-ee-1"
    node = node_of(kubectl, namespace, target)
    assert_drill_node(kubectl, node, drill_nodes)
    uid = pod(kubectl, namespace, target)["metadata"]["uid"]

    # One node is already unavailable: the budget (maxUnavailable 1) admits no further eviction.
    fail_readiness(kubectl, namespace, "emqx-ee-0")
    kubectl.wait_for(
        lambda: disruptions_allowed(kubectl, namespace) == 0, "the budget to allow no disruption", namespace, ("pdb",)
    )
    uncordon(node)
    blocked = drain(kubectl, node, "10s")
    assert blocked.returncode != 0 and "disruption budget" in blocked.stderr, blocked.stderr
    assert pod(kubectl, namespace, target)["metadata"]["uid"] == uid, "nothing was evicted"

    pass_readiness(kubectl, namespace, "emqx-ee-0")
    kubectl.wait_for(
        lambda: disruptions_allowed(kubectl, namespace) == 1, "the budget to allow one disruption", namespace, ("pdb",)
    )
    done = drain(kubectl, node, "60s")
    assert done.returncode == 0, done.stderr
    wait_ready(kubectl, namespace, 3)
    back = pod(kubectl, namespace, target)
    assert back["metadata"]["uid"] != uid and back["spec"]["nodeName"] != node, "evicted and rescheduled elsewhere"
    volume = next(v for v in back["spec"]["volumes"] if v["name"] == "emqx-data")
    assert volume["persistentVolumeClaim"]["claimName"] == f"emqx-data-{target}", "same identity, same claim"
    assert {name: c["metadata"]["uid"] for name, c in claims(kubectl, namespace).items()} == before


def test_without_the_budget_the_same_drain_evicts_a_second_node(release, kubectl, namespace, uncordon, drill_nodes):
    """Negative control: the drill above fails when the chart loses its PodDisruptionBudget."""
    rel = release()
    rel.install({**drill_nodes, "podDisruptionBudget": {"enabled": False}})
    wait_ready(kubectl, namespace, 3)
    fail_readiness(kubectl, namespace, "emqx-ee-0")
    node = node_of(kubectl, namespace, "emqx-ee-1")
    assert_drill_node(kubectl, node, drill_nodes)
    uid = pod(kubectl, namespace, "emqx-ee-1")["metadata"]["uid"]
    uncordon(node)
    result = drain(kubectl, node, "30s")
    assert result.returncode == 0, result.stderr

    def evicted() -> bool:  # the controller makes the pod again a moment after the eviction
        return (
            kubectl.exists("pod", namespace, "emqx-ee-1")
            and pod(kubectl, namespace, "emqx-ee-1")["metadata"]["uid"] != uid
        )

    wait_until(evicted, "a second node down: emqx-ee-1 evicted and made again", timeout=60)


def test_node_loss_keeps_one_pod_per_identity_until_the_node_is_declared_gone(release, kubectl, namespace, drill_nodes):
    """A StatefulSet never runs two pods of one identity: while the lost node's pod object exists (no kubelet
    confirms its deletion), no replacement starts. Declaring the node out of service (the non-graceful
    node shutdown taint) lets the pod garbage collector remove it; the pod comes back elsewhere with its claim.

    kwok renews every node's Lease itself, so the node controller's own detection (NotReady after its grace
    period, then eviction) cannot be timed here: the test deletes the pod as that eviction would."""
    rel = release()
    rel.install(drill_nodes)
    wait_ready(kubectl, namespace, 3)
    target = "emqx-ee-2"
    node = node_of(kubectl, namespace, target)
    assert_drill_node(kubectl, node, drill_nodes)
    claim_uid = claims(kubectl, namespace)[f"emqx-data-{target}"]["metadata"]["uid"]
    # The node's kubelet is gone: no heartbeats, and no one to confirm its pods' deletion.
    kubectl.run("annotate", "node", node, "kwok.emqx-ee.test/lost=true")
    kubectl.run("annotate", "pod", target, "-n", namespace, "kwok.emqx-ee.test/kubelet-gone=true")
    try:
        # What the node controller records once the heartbeats stop.
        unknown = {"status": {"conditions": [{"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown"}]}}
        kubectl.run("patch", "node", node, "--subresource=status", "--type=strategic", "-p", json.dumps(unknown))
        kubectl.run("delete", "pod", target, "-n", namespace, "--wait=false")
        stuck = pod(kubectl, namespace, target)
        assert stuck["metadata"].get("deletionTimestamp"), "Terminating, and it stays so"
        time.sleep(10)  # time for the StatefulSet controller to (wrongly) start a second emqx-ee-2
        assert pod(kubectl, namespace, target)["metadata"]["uid"] == stuck["metadata"]["uid"], (
            "no second emqx-ee-2 while the first may still run on the lost node"
        )
        # Recovery (docs/operations.md): the node is surely down, so declare it out of service.
        kubectl.run("taint", "node", node, "node.kubernetes.io/out-of-service=nodeshutdown:NoExecute")

        def replaced_elsewhere():
            # The node stays down: a heartbeat kwok scheduled before the loss may still land, so the
            # condition is asserted again on every poll (the pod GC acts only on a node that is not Ready).
            kubectl.run("patch", "node", node, "--subresource=status", "--type=strategic", "-p", json.dumps(unknown))
            if not kubectl.exists("pod", namespace, target):
                return False
            now = pod(kubectl, namespace, target)
            return now["metadata"]["uid"] != stuck["metadata"]["uid"] and now["spec"].get("nodeName") not in (
                None,
                node,
            )

        wait_until(replaced_elsewhere, "emqx-ee-2 to come back on another node", interval=2)
        wait_ready(kubectl, namespace, 3)
        assert claims(kubectl, namespace)[f"emqx-data-{target}"]["metadata"]["uid"] == claim_uid, "same claim"
    finally:
        kubectl.run("taint", "node", node, "node.kubernetes.io/out-of-service-", check=False)
        kubectl.run("annotate", "node", node, "kwok.emqx-ee.test/lost-", check=False)  # kwok reports it Ready again
        # A pod no kubelet finalizes would keep its namespace from being deleted.
        kubectl.run("delete", "pod", target, "-n", namespace, "--force", "--grace-period=0", check=False)
        # Until the node controller has seen the node back (and lifted its unreachable taint, which every pod
        # tolerates for 5 minutes), it marks the pods of the next drill on this node NotReady.
        kubectl.wait_for(lambda: recovered(kubectl.get("node", None, node)), f"{node} to be back", None, ("nodes",))


def test_zone_spread_puts_one_node_per_zone_and_a_closed_zone_leaves_the_pod_pending(
    release, kubectl, namespace, uncordon, drill_nodes
):
    spread = [
        {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule"},
    ]
    rel = release()
    rel.install({**drill_nodes, "topologySpreadConstraints": spread})
    wait_ready(kubectl, namespace, 3)
    zones = {}
    for p in pods(kubectl, namespace):
        node = kubectl.get("node", None, p["spec"]["nodeName"])
        zones[p["metadata"]["name"]] = (
            node["metadata"]["labels"]["topology.kubernetes.io/zone"],
            node["metadata"]["name"],
        )
    assert len({zone for zone, _ in zones.values()}) == 3, zones

    zone, node = zones["emqx-ee-0"]
    assert_drill_node(kubectl, node, drill_nodes)
    uncordon(node)
    kubectl.run("cordon", node)
    kubectl.run("delete", "pod", "emqx-ee-0", "-n", namespace, "--wait=false")

    def pending_with_event():
        current = kubectl.get("pods", namespace, selector="apps.kubernetes.io/pod-index=0")
        if not current or current[0]["status"].get("phase") != "Pending":
            return None
        events = kubectl.get("events", namespace)
        return [
            e["message"]
            for e in events
            if e["involvedObject"]["name"] == "emqx-ee-0" and e["reason"] == "FailedScheduling"
        ]

    messages = kubectl.wait_for(
        pending_with_event, "emqx-ee-0 to stay Pending with a scheduling event", namespace, ("pods", "events")
    )
    assert any("topology spread constraints" in m for m in messages), "not stacked onto another zone: " + str(messages)
    kubectl.run("uncordon", node)
    wait_ready(kubectl, namespace, 3)


@pytest.mark.parametrize("policy", ["Parallel", "OrderedReady"])
def test_full_restart_with_existing_volumes(release, kubectl, namespace, policy):
    """Every pod deleted at once: Parallel recreates them together, OrderedReady one by one in ordinal
    order (EMQX's risk there: node 0 may wait for peers the controller has not started yet)."""
    rel = release()
    rel.install({**BASE, "podManagementPolicy": policy})
    wait_ready(kubectl, namespace, 3)
    before = {name: c["metadata"]["uid"] for name, c in claims(kubectl, namespace).items()}
    old = {p["metadata"]["uid"] for p in pods(kubectl, namespace)}
    kubectl.run("delete", "pods", "-n", namespace, "-l", "app.kubernetes.io/name=emqx-ee", "--wait=false")
    kubectl.wait_for(
        lambda: not old & {p["metadata"]["uid"] for p in pods(kubectl, namespace)}, "the old pods to go", namespace
    )
    wait_ready(kubectl, namespace, 3)
    assert {name: c["metadata"]["uid"] for name, c in claims(kubectl, namespace).items()} == before, "same claims"
    created = sorted((p["metadata"]["creationTimestamp"], p["metadata"]["name"]) for p in pods(kubectl, namespace))
    if policy == "OrderedReady":
        assert [name for _, name in created] == ["emqx-ee-0", "emqx-ee-1", "emqx-ee-2"], created
