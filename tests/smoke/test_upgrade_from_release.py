"""Upgrading a release of chart 0.1.0 (taken from git history) to the working tree's chart: the guards find
the old release although it has no identity record, the upgrade keeps claims and credentials, the dashboard
moves from the MQTT clients' Service to a Service of its own, and the pods restart once, in order, because
0.3.0's pod template really differs (the API key file); the next upgrade with the same values restarts
nothing."""

import pytest

from harness.helm import HelmError
from harness.statefulset import claims, pods, wait_ready, wait_updated
from harness.tools import chart_from_git

pytestmark = [pytest.mark.smoke, pytest.mark.day2]

VALUES = {"replicaCount": 3, "minReadySeconds": 0, "license": {"existingSecret": "emqx-license"}}


def uids(found):
    return {name: obj["metadata"]["uid"] for name, obj in found.items()}


def pod_uids(kubectl, namespace):
    return {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods(kubectl, namespace)}


def install_release(rel, kubectl, namespace, version, values, tmp_path):
    """Install chart `version` from git history with three nodes; what the upgrade must keep or replace:
    pod UIDs by name, claim UIDs by name, and the data of the generated Secret."""
    rel.install(values, chart=chart_from_git(version, tmp_path))
    wait_ready(kubectl, namespace, 3)
    return (
        pod_uids(kubectl, namespace),
        uids(claims(kubectl, namespace)),
        kubectl.get("secret", namespace, "emqx-ee")["data"],
    )


def test_upgrade_from_0_1_0_keeps_pods_claims_and_secret_and_is_guarded(release, kubectl, namespace, tmp_path):
    kubectl.run("create", "secret", "generic", "emqx-license", "-n", namespace, "--from-literal=license-key=evaluation")
    rel = release()
    before_pods, before_claims, before_secret = install_release(rel, kubectl, namespace, "0.1.0", VALUES, tmp_path)

    with pytest.raises(HelmError) as caught:
        rel.upgrade({**VALUES, "fullnameOverride": "emqx"})
    assert "fullnameOverride" in caught.value.stderr, "a 0.1.0 release without identity record is guarded too"

    out = rel.upgrade(VALUES)
    assert "installed by an older chart version" in out, out
    # 0.3.0 changes the pod template (the API key file, membership labels, metrics auth): one ordered roll.
    # 0.1.0 recorded no pod-template checksum, so NOTES cannot say why (they say so, and how to watch).
    wait_updated(kubectl, namespace, 3)
    after_pods = pod_uids(kubectl, namespace)
    assert all(after_pods[name] != uid for name, uid in before_pods.items()), "EMQX reads the key file at boot"
    assert uids(claims(kubectl, namespace)) == before_claims
    secret = kubectl.get("secret", namespace, "emqx-ee")["data"]
    assert {k: secret[k] for k in before_secret} == before_secret, "cookie and password are kept"
    assert {"api-key-name", "api-key-secret", "api-key-bootstrap"} <= set(secret)
    out = rel.upgrade(VALUES)
    assert "The pod template is unchanged: no node restarts." in out, out
    assert kubectl.get("configmap", namespace, "emqx-ee-identity")["data"]["statefulSet"] == "emqx-ee"
    client_ports = {p["name"] for p in kubectl.get("service", namespace, "emqx-ee")["spec"]["ports"]}
    assert client_ports == {"mqtt", "mqtts", "ws", "wss"}, "0.1.0 published the dashboard on the client Service"
    assert kubectl.get("service", namespace, "emqx-ee-dashboard")["spec"]["type"] == "ClusterIP"


def test_upgrade_from_the_last_release_0_2_0_rolls_once_and_keeps_everything(release, kubectl, namespace, tmp_path):
    """The last released version (0.2.0) upgraded to the working tree: no immutable-field error, the same claims
    and generated credentials, one ordered roll because the pod template really changed (NOTES say why,
    reading 0.2.0's pod-template checksum), and nothing rolls on the next upgrade with the same values."""
    values = {"replicaCount": 3, "minReadySeconds": 0, "license": {"key": "evaluation"}}
    rel = release()
    before_pods, before_claims, before_secret = install_release(rel, kubectl, namespace, "0.2.0", values, tmp_path)

    out = rel.upgrade(values)
    assert "the API key changed" in out and "restart one at a time, from emqx-ee-2 down to emqx-ee-0" in out, out
    wait_updated(kubectl, namespace, 3)
    after_pods = pod_uids(kubectl, namespace)
    assert all(after_pods[name] != uid for name, uid in before_pods.items())
    assert uids(claims(kubectl, namespace)) == before_claims
    secret = kubectl.get("secret", namespace, "emqx-ee")["data"]
    assert {k: secret[k] for k in before_secret} == before_secret, "cookie, password and license are kept"
    assert "The pod template is unchanged: no node restarts." in rel.upgrade(values)
