"""Upgrading a release of chart 0.1.0 (taken from git history) to the working tree's chart: the guards find
the old release although it has no identity record, the upgrade keeps pods, claims and credentials, and the
dashboard moves from the MQTT clients' Service to a Service of its own."""

import pytest

from harness.helm import HelmError
from harness.statefulset import claims, pods, wait_ready
from harness.tools import chart_from_git

pytestmark = pytest.mark.smoke

VALUES = {"replicaCount": 3, "minReadySeconds": 0, "license": {"existingSecret": "emqx-license"}}


def uids(found):
    return {name: obj["metadata"]["uid"] for name, obj in found.items()}


def test_upgrade_from_0_1_0_keeps_pods_claims_and_secret_and_is_guarded(release, kubectl, namespace, tmp_path):
    kubectl.run("create", "secret", "generic", "emqx-license", "-n", namespace, "--from-literal=license-key=evaluation")
    rel = release()
    rel.install(VALUES, chart=chart_from_git("0.1.0", tmp_path))
    wait_ready(kubectl, namespace, 3)
    before_pods = {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods(kubectl, namespace)}
    before_claims = uids(claims(kubectl, namespace))
    before_secret = kubectl.get("secret", namespace, "emqx-ee")["data"]

    with pytest.raises(HelmError) as caught:
        rel.upgrade({**VALUES, "fullnameOverride": "emqx"})
    assert "fullnameOverride" in caught.value.stderr, "a 0.1.0 release without identity record is guarded too"

    out = rel.upgrade(VALUES)
    assert "installed by an older chart version" in out, out
    wait_ready(kubectl, namespace, 3)
    assert {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods(kubectl, namespace)} == before_pods, (
        "the pod template of 0.1.0 and this chart agree, so no node restarts"
    )
    assert uids(claims(kubectl, namespace)) == before_claims
    assert kubectl.get("secret", namespace, "emqx-ee")["data"] == before_secret
    assert kubectl.get("configmap", namespace, "emqx-ee-identity")["data"]["statefulSet"] == "emqx-ee"
    client_ports = {p["name"] for p in kubectl.get("service", namespace, "emqx-ee")["spec"]["ports"]}
    assert client_ports == {"mqtt", "mqtts", "ws", "wss"}, "0.1.0 published the dashboard on the client Service"
    assert kubectl.get("service", namespace, "emqx-ee-dashboard")["spec"]["type"] == "ClusterIP"
