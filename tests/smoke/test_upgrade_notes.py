"""Upgrade NOTES say what the upgrade does to the running nodes: whether the pods roll, why, in which order,
or why not. They compare the live StatefulSet (lookup) with the new render, so they need the live cluster.
Every test changes the EMQX settings to a value of its own, so each upgrade changes the pod template
whatever ran before it."""

import base64
import hashlib

import pytest

from harness.cluster import Release
from harness.statefulset import wait_ready

pytestmark = [pytest.mark.smoke, pytest.mark.day2]

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


def emqx_key_name(key: str) -> str:
    """The name EMQX 6.2.2 stores a bootstrap-file key under (emqx_mgmt_auth.erl, generate_unique_name/2)."""
    return "from_bootstrap_file_" + hashlib.sha512(key.encode()).hexdigest()[:16]


def test_claims_and_api_keys_left_behind_are_named(release, kubectl, namespace):
    """One release through scale-down, scale-up, an API key rename, apiKey off and on, and a reinstall: the NOTES of
    each step say what stays behind (claims, keys EMQX keeps) and what comes back."""
    rel = release()
    rel.install({**BASE, "replicaCount": 3})
    wait_ready(kubectl, namespace, 3)
    secret = kubectl.get("secret", namespace, "emqx-ee")["data"]["api-key-secret"]

    rel.upgrade({**BASE, "replicaCount": 2})
    out = rel.upgrade({**BASE, "replicaCount": 4})
    assert "Scaling up from 2 to 4" in out, out
    assert "emqx-ee-2 starts on the claim it kept, with its old data and node name," in out
    assert "If you removed it with `emqx ctl cluster force-leave`, it must not come" in out
    assert f"--reuse-values --set replicaCount=2\n  kubectl -n {namespace} delete pvc emqx-data-emqx-ee-2\n" in out
    assert "emqx-ee-3 starts on a new, empty claim and joins as a new node." in out
    assert "API key" not in out, "the key stays in the file: nothing to say about it"
    wait_ready(kubectl, namespace, 4)

    four = {**BASE, "replicaCount": 4}
    out = rel.upgrade({**four, "apiKey": {"key": "ops"}})
    assert "The bootstrap file no longer holds API key emqx-ee-helm: it stays valid in EMQX." in out, out
    assert f"exec emqx-ee-0 -- emqx ctl api_keys del --name {emqx_key_name('emqx-ee-helm')}" in out

    out = rel.upgrade({**four, "apiKey": {"key": "ops", "enabled": False}, "tests": {"enabled": False}})
    assert "apiKey is off, yet API key ops: it stays valid in EMQX." in out, out
    assert f"emqx ctl api_keys del --name {emqx_key_name('ops')}" in out
    assert (
        "The chart keeps the key's secret in Secret emqx-ee (key api-key-secret): apiKey.enabled=true reuses it." in out
    )
    assert kubectl.get("secret", namespace, "emqx-ee")["data"]["api-key-secret"] == secret

    out = rel.upgrade({**four, "apiKey": {"key": "ops"}})
    assert "apiKey is on again with the secret the chart kept in Secret emqx-ee (key api-key-secret)." in out, out
    data = kubectl.get("secret", namespace, "emqx-ee")["data"]
    assert data["api-key-secret"] == secret
    line = base64.b64decode(data["api-key-bootstrap"]).decode()
    assert line == f"ops:{base64.b64decode(secret).decode()}:viewer\n"

    rel.uninstall()
    out = rel.install({**BASE, "replicaCount": 1})
    assert "Claims kept from an earlier install are reused, with their data and node names: emqx-data-emqx-ee-0." in out
    beyond = "emqx-data-emqx-ee-1, emqx-data-emqx-ee-2, emqx-data-emqx-ee-3"
    assert f"Claims beyond replicaCount=1 remain from an earlier install: {beyond}." in out, out
    assert f"kubectl -n {namespace} delete pvc emqx-data-emqx-ee-1 emqx-data-emqx-ee-2 emqx-data-emqx-ee-3" in out
