"""Batch rolls and the drain's pod settings on a live cluster.

The real StatefulSet controller (Kubernetes 1.36: `maxUnavailable` of KEP-961 is beta and on) replaces up to
`updateStrategy.rollingUpdate.maxUnavailable` pods at once, from the highest ordinal down. kwok runs no
container, so the preStop hook never runs here (tests/unit/test_drain_script.py runs it): what is proven is
that the hook, the boot step and the grace period reach the pods of both revisions, and that the eviction API
(what `kubectl drain` uses) still goes through the PodDisruptionBudget with the hook in place.
"""

from __future__ import annotations

import json
import time

import pytest

from harness.cluster import progress
from harness.statefulset import is_ready, ordinal, pods, wait_ready, wait_updated

pytestmark = pytest.mark.smoke

BATCH = 3
BOOT = 3  # seconds each new pod takes to become Ready (kwok stage annotation), so batches can be seen
VALUES = {
    "license": {"key": "evaluation"},
    "replicaCount": 6,
    "minReadySeconds": 0,
    "podDisruptionBudget": {"maxUnavailable": BATCH},
    "updateStrategy": {"rollingUpdate": {"maxUnavailable": BATCH}},
    "podAnnotations": {"kwok.emqx-ee.test/boot-delay": f"{BOOT}s"},
    "terminationGracePeriodSeconds": 150,
    "gracefulShutdown": {"timeoutSeconds": 100, "connEvictRate": 800},
}


def emqx(pod):
    return next(c for c in pod["spec"]["containers"] if c["name"] == "emqx")


def test_a_batch_roll_replaces_three_pods_at_a_time_with_the_hook_and_grace_period(release, kubectl, namespace):
    rel = release()
    rel.install(VALUES)
    live = kubectl.get("statefulset", namespace, "emqx-ee")["spec"]["updateStrategy"]["rollingUpdate"]
    assert live.get("maxUnavailable") == BATCH, (
        f"the API server dropped rollingUpdate.maxUnavailable ({live}): this cluster runs without the "
        "MaxUnavailableStatefulSet feature gate (off by default in Kubernetes 1.36) that scripts/cluster.sh sets; "
        "re-create it: scripts/cluster.sh down && scripts/cluster.sh up"
    )
    wait_ready(kubectl, namespace, VALUES["replicaCount"])
    before = {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods(kubectl, namespace)}

    rel.upgrade({**VALUES, "emqxConfig": {"log.console.level": "debug"}})
    # Every 0.2 s: the ordinals that are missing, terminating or not Ready (unavailable to clients).
    seen: list[list[int]] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        live = pods(kubectl, namespace)
        present = {ordinal(p) for p in live if not p["metadata"].get("deletionTimestamp") and is_ready(p)}
        down = sorted(set(range(VALUES["replicaCount"])) - present)
        if not seen or seen[-1] != down:
            seen.append(down)
        replaced = [p for p in live if p["metadata"]["uid"] != before.get(p["metadata"]["name"])]
        if len(replaced) == VALUES["replicaCount"] and not down:
            break
        time.sleep(0.2)
    progress(f"unavailable ordinals as the roll went: {seen}")
    assert max(len(d) for d in seen) == BATCH, f"never {BATCH} pods down at once: {seen}"
    assert all(len(d) <= BATCH for d in seen), f"more than {BATCH} pods down at once: {seen}"
    assert [3, 4, 5] in seen, f"the first batch is the three highest ordinals: {seen}"
    wait_updated(kubectl, namespace, VALUES["replicaCount"])

    g = VALUES["gracefulShutdown"]
    for pod in pods(kubectl, namespace):
        name = pod["metadata"]["name"]
        assert pod["spec"]["terminationGracePeriodSeconds"] == VALUES["terminationGracePeriodSeconds"], name
        command = emqx(pod)["lifecycle"]["preStop"]["exec"]["command"]
        assert command[:2] == ["sh", "-c"] and "rebalance start --evacuation" in command[2], name
        assert command[command.index("--timeout") + 1] == str(g["timeoutSeconds"]), name
        assert command[command.index("--conn-evict-rate") + 1] == str(g["connEvictRate"]), name
        assert emqx(pod)["args"][-2:] == ["/opt/emqx/bin/emqx", "foreground"], name

    # The eviction API (kubectl drain) with the hook in place: the budget lets three go, then refuses.
    answers = []
    for pod in pods(kubectl, namespace)[: BATCH + 1]:
        eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod["metadata"]["name"]}}
        done = kubectl.run("create", "--raw", f"/api/v1/namespaces/{namespace}/pods/{pod['metadata']['name']}/eviction",
                           "-f", "-", stdin=json.dumps(eviction), check=False)  # fmt: skip
        answers.append("evicted" if done.returncode == 0 else done.stderr.strip())
    progress(f"evictions: {answers}")
    assert answers[:BATCH] == ["evicted"] * BATCH, answers
    assert "disruption budget" in answers[BATCH], f"the budget did not hold the fourth eviction: {answers}"
    wait_ready(kubectl, namespace, VALUES["replicaCount"])
