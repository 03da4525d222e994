"""The harness's waits wake on watch events (harness.kube): a wait returns when the controller acts, not at
the next poll. With the periodic re-check pushed out of reach, a wait ends either on a watch event or
at its deadline (where it checks one last time); the two tests tell those apart."""

from __future__ import annotations

import threading
import time

import pytest

pytestmark = pytest.mark.smoke

NEVER = 3600.0  # periodic re-check interval: longer than any timeout here


def wait_for_configmap(kubectl, namespace: str, watched: str, timeout: float, name: str = "late") -> float:
    """Create a ConfigMap half a second into a wait for it that watches `watched`; seconds the wait took."""

    def create():
        time.sleep(0.5)  # the wait has started and found nothing
        kubectl.run("create", "configmap", name, "-n", namespace)

    thread = threading.Thread(target=create)
    thread.start()
    start = time.monotonic()
    kubectl.api.wait(
        lambda: kubectl.exists("configmap", namespace, name),
        f"configmap {name}",
        [(watched, namespace)],
        timeout=timeout,
        fallback=NEVER,
    )
    thread.join()
    return time.monotonic() - start


def test_a_wait_returns_on_the_watch_event_of_the_change(kubectl, namespace):
    took = wait_for_configmap(kubectl, namespace, "configmaps", timeout=60)
    assert took < 30, f"the wait ended at its deadline ({took:.1f}s), not on the ConfigMap's watch event"


def test_waits_one_after_another_share_a_watch_and_each_returns_on_its_event(kubectl, namespace):
    """harness.kube.Watches keeps a watch open between waits on the same namespace: the second wait subscribes
    to the watch the first one opened, and must still wake on the event of its own change."""
    for name in ("first", "second", "third"):
        took = wait_for_configmap(kubectl, namespace, "configmaps", timeout=60, name=name)
        assert took < 30, f"wait for {name} ended at its deadline ({took:.1f}s), not on the watch event"


def test_a_change_to_an_unwatched_kind_is_seen_only_at_the_deadline(kubectl, namespace):
    """Negative control for the test above: watching Secrets, nothing wakes the wait before its deadline."""
    took = wait_for_configmap(kubectl, namespace, "secrets", timeout=4)
    assert took >= 3.9, f"something other than a watch event or the deadline ended the wait ({took:.1f}s)"
