"""TLS on a live cluster: the user's kubernetes.io/tls Secret is mounted (the kubelet checks after every wait
prove the keys the pod needs are there), and cert-manager's real CRDs (from its Go module) make the API server
validate the chart's Certificate. cert-manager's controller does not run here: the test plays its part by
creating the Secret the Certificate names, as cert-manager would, so that the pods' reference resolves."""

import json
import subprocess

import pytest

from harness.scenarios import scenarios
from harness.statefulset import wait_ready

pytestmark = pytest.mark.smoke


def test_certificate_from_the_users_secret_is_mounted(release, kubectl, namespace):
    scenario = next(s for s in scenarios() if s.name == "15-tls-existing-secret")
    release().install(scenario.values)
    wait_ready(kubectl, namespace, 1)
    secret = kubectl.get("secret", namespace, "emqx-tls-scenario")
    assert secret["type"] == "kubernetes.io/tls" and {"tls.crt", "tls.key", "ca.crt"} <= set(secret["data"])


def test_api_server_validates_the_certificate_and_the_pods_use_its_secret(
    release, kubectl, namespace, cert_manager_crds, tmp_path
):
    scenario = next(s for s in scenarios() if s.name == "16-tls-cert-manager")
    release().install({**scenario.values, "minReadySeconds": 0})
    cert = kubectl.get("certificate", namespace, "emqx-ee")["spec"]
    assert cert["secretName"] == "emqx-ee-tls" and "mqtt.example.com" in cert["dnsNames"]
    # What cert-manager would do on issuing: a kubernetes.io/tls Secret under the Certificate's secretName.
    key, crt = tmp_path / "tls.key", tmp_path / "tls.crt"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=emqx-ee",
            "-keyout",
            str(key),
            "-out",
            str(crt),
        ],
        check=True,
        capture_output=True,
    )
    kubectl.run("create", "secret", "tls", cert["secretName"], "-n", namespace, f"--cert={crt}", f"--key={key}")
    wait_ready(kubectl, namespace, 3)


def test_api_server_refuses_an_invalid_certificate(kubectl, namespace, cert_manager_crds):
    """Negative control: the CRD's schema really is enforced (a Certificate needs a secretName)."""
    bad = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "bad", "namespace": namespace},
        "spec": {"issuerRef": {"name": "ca"}, "dnsNames": ["x"]},
    }
    proc = kubectl.run("apply", "-f", "-", stdin=json.dumps(bad), check=False)
    assert proc.returncode != 0 and "secretName" in proc.stderr, proc.stderr
