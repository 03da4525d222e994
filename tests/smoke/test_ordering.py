"""Ordered and parallel pod management, as the StatefulSet controller really does it.

With OrderedReady the controller creates pod N+1 only once pod N is Ready (and, since
minReadySeconds is set here, available), and removes pods from the highest ordinal down, one at a
time. With Parallel it creates them all at once.
"""

import time
from datetime import datetime, timedelta

import pytest

from harness.cluster import progress
from harness.statefulset import ordinal, pods, ready_since, scale, wait_ready

pytestmark = pytest.mark.smoke

LICENSED = {"license": {"key": "evaluation"}}


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_ordered_ready_creates_each_pod_after_the_previous_is_ready(release, kubectl, namespace):
    release().install({**LICENSED, "replicaCount": 4, "podManagementPolicy": "OrderedReady", "minReadySeconds": 2})
    wait_ready(kubectl, namespace, 4)
    live = pods(kubectl, namespace)
    for previous, pod in zip(live, live[1:], strict=False):
        created = ts(pod["metadata"]["creationTimestamp"])
        ready = ts(ready_since(previous))
        assert (created - ready).total_seconds() >= 2, (
            f"{pod['metadata']['name']} created at {created}, {previous['metadata']['name']} Ready at {ready}"
        )


def test_ordered_ready_scales_down_from_the_highest_ordinal_one_at_a_time(release, kubectl, namespace):
    release().install({**LICENSED, "replicaCount": 5, "podManagementPolicy": "OrderedReady", "minReadySeconds": 0})
    wait_ready(kubectl, namespace, 5)
    scale(kubectl, namespace, 2)
    seen = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        live = pods(kubectl, namespace)
        ordinals = [ordinal(p) for p in live]
        terminating = [ordinal(p) for p in live if p["metadata"].get("deletionTimestamp")]
        seen.append((ordinals, terminating))
        assert ordinals == list(range(len(ordinals))), f"a lower ordinal went first: {ordinals}"
        assert len(terminating) <= 1, f"more than one pod terminating at once: {terminating}"
        assert not terminating or terminating == [max(ordinals)], f"not the highest ordinal: {terminating}"
        if ordinals == [0, 1]:
            break
        time.sleep(0.2)
    progress(f"observed scale-down states: {[s[0] for s in seen]}")
    assert seen[-1][0] == [0, 1]


def test_parallel_creates_all_pods_at_once(release, kubectl, namespace):
    release().install({**LICENSED, "replicaCount": 4, "podManagementPolicy": "Parallel", "minReadySeconds": 5})
    wait_ready(kubectl, namespace, 4)
    live = pods(kubectl, namespace)
    created = [ts(p["metadata"]["creationTimestamp"]) for p in live]
    # OrderedReady would create the second pod no sooner than the first is available (Ready for 5 s). The
    # creation times themselves spread over a second or two on a busy machine: the controller creates the pods
    # one API call after another.
    first_available = min(ts(ready_since(p)) for p in live) + timedelta(seconds=5)
    assert max(created) < first_available, f"created {created}; the first pod available at {first_available}"
