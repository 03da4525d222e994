"""Secrets checked before use, on the live cluster: every Secret a value names is looked up on install and
upgrade, and a missing Secret or key is refused, every one in one message, before anything is applied (no
release record, no object, or the release exactly as it was). `--dry-run=server` refuses the same way;
`--dry-run=client` cannot read the cluster and says in NOTES what it did not check. Render-only refusals
(Secrets from extraObjects) are in tests/unit/test_secret_checks.py."""

import json

import pytest

from harness.cluster import Release
from harness.helm import HelmError
from harness.statefulset import wait_ready

pytestmark = pytest.mark.smoke

BASE = {"minReadySeconds": 0, "metrics": {"serviceMonitor": {"enabled": False}}}
CONFIG_CHANGE = {"emqxConfig": {"log.console.level": "debug"}}
HEADER = "refused before anything was applied: Secrets that the values name are missing or lack keys"


def create_secret(kubectl, namespace, name, **data):
    literals = [f"--from-literal={k}={v}" for k, v in data.items()]
    kubectl.run("create", "secret", "generic", name, "-n", namespace, *literals)


def lookup_works(kubectl, namespace):
    """The ConfigMap the chart reads to know that lookup works: kube-controller-manager publishes it into a new
    namespace shortly after the namespace appears."""
    kubectl.wait_for(
        lambda: kubectl.exists("configmap", namespace, "kube-root-ca.crt"),
        f"kube-root-ca.crt in {namespace}",
        namespace,
        ("configmaps",),
        timeout=60,
    )


def dry_run(rel: Release, mode: str, values) -> str:
    """`helm install --dry-run=<mode>` of the release."""
    return rel.install(values, dry_run=mode)


def released_objects(kubectl, namespace):
    return {
        "statefulsets": kubectl.get("statefulset", namespace),
        "release records": kubectl.get("secret", namespace, selector="owner=helm"),
    }


def test_missing_secrets_are_refused_at_install_and_upgrade_with_nothing_changed(release, kubectl, namespace, helm):
    rel = release(helm=helm)
    lookup_works(kubectl, namespace)
    create_secret(kubectl, namespace, "vault", password="p4ssw0rd")
    values = {
        **BASE,
        "tls": {"enabled": True, "existingSecret": "certs", "verifyClients": True},
        "license": {"existingSecret": "lic"},
        "auth": {"erlangCookie": {"existingSecret": "vault", "existingSecretKey": "cookie"}},
        "imagePullSecrets": [{"name": "registry"}],
    }
    expected = [
        f"Secret certs does not exist in namespace {namespace} (wanted by tls.existingSecret for key tls.crt, "
        "tls.existingSecret for key tls.key, tls.verifyClients for key ca.crt)",
        f"Secret lic does not exist in namespace {namespace} (wanted by license.existingSecret for key license-key)",
        f"auth.erlangCookie.existingSecretKey: Secret vault in namespace {namespace} has no key cookie",
        f"Secret registry does not exist in namespace {namespace} (wanted by imagePullSecrets)",
    ]
    for attempt in (lambda: rel.install(values), lambda: dry_run(rel, "server", values)):
        with pytest.raises(HelmError) as caught:
            attempt()
        said = caught.value.stderr
        assert said.count(HEADER) == 1 and all(e in said for e in expected), said
    assert released_objects(kubectl, namespace) == {"statefulsets": [], "release records": []}

    out = dry_run(rel, "client", values)  # no lookup: accepted, and NOTES say what went unchecked
    assert "WARNING: the chart could not read the cluster" in out
    assert f"- tls.existingSecret: Secret certs in namespace {namespace}, keys tls.crt, tls.key, ca.crt" in out

    create_secret(kubectl, namespace, "certs", **{"tls.crt": "c", "tls.key": "k", "ca.crt": "a"})
    create_secret(kubectl, namespace, "lic", **{"license-key": "evaluation"})
    create_secret(kubectl, namespace, "vault-cookie", cookie="cookie-from-the-vault-0123456789")
    create_secret(kubectl, namespace, "registry", **{".dockerconfigjson": "{}"})
    accepted = {**values, "auth": {"erlangCookie": {"existingSecret": "vault-cookie", "existingSecretKey": "cookie"}}}
    out = rel.install(accepted)
    assert "could not read the cluster" not in out, "with lookup working, NOTES have nothing unchecked to report"
    wait_ready(kubectl, namespace, 1)

    create_secret(kubectl, namespace, "certs-no-ca", **{"tls.crt": "c", "tls.key": "k"})
    before = rel.state(kubectl)
    changes = {
        "tls": {"enabled": True, "existingSecret": "certs-no-ca", "verifyClients": True},
        "auth": {**accepted["auth"], "dashboard": {"existingSecret": "vault", "existingSecretKey": "admin"}},
        "apiKey": {"existingSecret": "no-api-keys"},
        "metrics": {"serviceMonitor": {"enabled": True, "force": True, "basicAuthSecret": "no-monitor"}},
    }
    with pytest.raises(HelmError) as caught:
        rel.upgrade({**accepted, **CONFIG_CHANGE, **changes})
    said = caught.value.stderr
    for e in (
        f"tls.verifyClients: Secret certs-no-ca in namespace {namespace} has no key ca.crt",
        f"auth.dashboard.existingSecretKey: Secret vault in namespace {namespace} has no key admin",
        f"Secret no-api-keys does not exist in namespace {namespace} (wanted by apiKey.existingSecret for key "
        "bootstrap.txt)",
        f"Secret no-monitor does not exist in namespace {namespace} (wanted by metrics.serviceMonitor.basicAuthSecret "
        "for key username, metrics.serviceMonitor.basicAuthSecret for key password)",
    ):
        assert e in said, f"{e!r} not in:\n{said}"
    assert rel.state(kubectl) == before, "a refused upgrade changed the release or its objects"


def test_cert_manager_ca_issuer_key_and_issued_ca_are_checked(release, kubectl, namespace, cert_manager_crds):
    """A CA Issuer signs with the key pair in its spec.ca.secretName; the Secret cert-manager issues is checked
    for ca.crt once it exists (an ACME issuer writes none)."""
    lookup_works(kubectl, namespace)
    issuer = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Issuer",
        "metadata": {"name": "emqx-ca", "namespace": namespace},
        "spec": {"ca": {"secretName": "emqx-ca-key"}},
    }
    kubectl.run("apply", "-f", "-", stdin=json.dumps(issuer))
    values = {**BASE, "tls": {"enabled": True, "certManager": {"enabled": True, "issuerRef": {"name": "emqx-ca"}}}}
    rel = release()
    with pytest.raises(HelmError) as caught:
        rel.install(values)
    assert (
        f"Secret emqx-ca-key does not exist in namespace {namespace} (wanted by tls.certManager.issuerRef for key "
        "tls.crt, tls.certManager.issuerRef for key tls.key)"
    ) in caught.value.stderr, caught.value.stderr

    create_secret(kubectl, namespace, "emqx-ca-key", **{"tls.crt": "c"})
    with pytest.raises(HelmError) as caught:
        rel.install(values)
    expected = f"tls.certManager.issuerRef: Secret emqx-ca-key in namespace {namespace} has no key tls.key"
    assert expected in caught.value.stderr, caught.value.stderr

    kubectl.run("patch", "secret", "emqx-ca-key", "-n", namespace, "-p", '{"stringData": {"tls.key": "k"}}')
    rel.install(values)  # cert-manager's own Secret does not exist yet: not refused
    create_secret(kubectl, namespace, "emqx-ee-tls", **{"tls.crt": "c", "tls.key": "k"})  # as an ACME issuer writes
    with pytest.raises(HelmError) as caught:
        rel.upgrade({**values, "tls": {**values["tls"], "verifyClients": True}})
    assert f"tls.verifyClients: Secret emqx-ee-tls in namespace {namespace} has no key ca.crt" in caught.value.stderr
