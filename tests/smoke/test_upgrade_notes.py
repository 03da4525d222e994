"""Upgrade NOTES say what the upgrade does to the running nodes: whether the pods roll, why, in which order,
or why not. They compare the live StatefulSet (lookup) with the new render, so they need the live cluster.
Every test changes the EMQX settings to a value of its own, so each upgrade changes the pod template
whatever ran before it."""

import pytest

from harness.cluster import Release
from harness.statefulset import wait_ready

pytestmark = pytest.mark.smoke

BASE = {"replicaCount": 3, "license": {"key": "evaluation"}, "minReadySeconds": 0}


@pytest.fixture(scope="module")
def running(cluster, module_namespace, helm4, kubectl):
    rel = Release(helm4, cluster.kubeconfig, module_namespace)
    rel.install(BASE)
    wait_ready(kubectl, module_namespace, 3)
    return rel


def upgrade(rel, level, **values):
    return rel.upgrade({**BASE, "emqxConfig": {"log.console.level": level}, **values})


def test_image_and_config_changes_are_named_with_the_rollout_order(running):
    out = upgrade(running, "debug", image={"tag": "6.2.1"})
    assert "Upgraded: StatefulSet" in out and "is starting" not in out, out
    assert "the image is now emqx/emqx-enterprise:6.2.1" in out, out
    assert "the EMQX settings changed" in out
    assert "The nodes restart one at a time, from emqx-ee-2 down to emqx-ee-0" in out


def test_partition_holds_lower_ordinals_back(running):
    out = upgrade(running, "info", updateStrategy={"rollingUpdate": {"partition": 1}})
    assert "from emqx-ee-2 down to emqx-ee-1" in out, out


def test_partition_above_every_ordinal_restarts_nothing(running):
    out = upgrade(running, "notice", updateStrategy={"rollingUpdate": {"partition": 3}})
    assert "No node restarts: updateStrategy.rollingUpdate.partition=3 holds every ordinal back." in out, out


def test_on_delete_waits_for_pod_deletion(running):
    out = upgrade(running, "warning", updateStrategy={"type": "OnDelete"})
    assert "updateStrategy is OnDelete: no node restarts until you delete its pod." in out, out


def test_a_change_outside_image_config_and_license_is_still_reported(running):
    upgrade(running, "error")
    out = upgrade(running, "error", resources={"requests": {"cpu": "300m", "memory": "512Mi"}})
    assert "The pod template changed (other pod settings changed)." in out, out
