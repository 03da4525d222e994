"""Secrets checked before use (templates/_secret-checks.tpl). A Secret that the release itself creates through
extraObjects is checked in the render, so these tests give each value such a Secret with a key missing and
read the refusal; a Secret that must already be in the cluster needs `lookup`, and its refusals are shown on
the live cluster (tests/smoke/test_secret_checks.py). Without a cluster the chart refuses nothing it cannot
see, and NOTES list what it did not check."""

from typing import Any

import pytest

from harness.helm import HelmError, notes, render

pytestmark = pytest.mark.unit

NS = "emqx"
HEADER = "refused before anything was applied: Secrets that the values name are missing or lack keys"


def extra_secret(name: str, keys: list[str], namespace: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "stringData": {k: "x" for k in keys}}


# value -> (values naming Secret "s" with a key the Secret lacks, the refusal that names value, Secret and key)
CASES = {
    "cookie": (
        {"auth": {"erlangCookie": {"existingSecret": "s", "existingSecretKey": "cookie"}}},
        "auth.erlangCookie.existingSecretKey: Secret s in namespace emqx has no key cookie",
    ),
    "dashboard": (
        {"auth": {"dashboard": {"existingSecret": "s", "existingSecretKey": "admin"}}},
        "auth.dashboard.existingSecretKey: Secret s in namespace emqx has no key admin",
    ),
    "license": (
        {"license": {"existingSecret": "s", "existingSecretKey": "lic"}},
        "license.existingSecretKey: Secret s in namespace emqx has no key lic",
    ),
    "api-key": (
        {"apiKey": {"existingSecret": "s", "existingSecretKey": "keys.txt"}},
        "apiKey.existingSecretKey: Secret s in namespace emqx has no key keys.txt",
    ),
    "tls-key": (
        {"tls": {"enabled": True, "existingSecret": "s"}},
        "tls.existingSecret: Secret s in namespace emqx has no key tls.key",
    ),
    "tls-client-ca": (
        {"tls": {"enabled": True, "existingSecret": "s", "verifyClients": True}},
        "tls.verifyClients: Secret s in namespace emqx has no key ca.crt",
    ),
    "service-monitor-ca": (
        {
            "tls": {"enabled": True, "existingSecret": "s", "dashboard": True},
            "metrics": {"serviceMonitor": {"force": True}},
        },
        "tls.dashboard: Secret s in namespace emqx has no key ca.crt (the ServiceMonitor's tlsConfig.ca",
    ),
    "service-monitor-basic-auth": (
        {"metrics": {"serviceMonitor": {"force": True, "basicAuthSecret": "s"}}},
        "metrics.serviceMonitor.basicAuthSecret: Secret s in namespace emqx has no key password",
    ),
}
# The Secret holds what a TLS Secret and a basic-auth Secret hold, minus the key each case needs.
PRESENT = ["tls.crt", "username", "other"]


@pytest.mark.parametrize(("values", "message"), list(CASES.values()), ids=list(CASES))
def test_a_missing_key_is_refused_naming_value_secret_key_and_namespace(template, values, message):
    with pytest.raises(HelmError) as caught:
        template({**values, "extraObjects": [extra_secret("s", PRESENT)]})
    said = caught.value.stderr
    assert HEADER in said and message in said, said
    assert 'docs/operations.md "Secrets the chart checks"' in said


def test_every_problem_is_named_in_one_refusal(helm):
    """Both Helm majors refuse with the same message, every problem at once."""
    values = {
        "auth": {
            "erlangCookie": {"existingSecret": "s", "existingSecretKey": "cookie"},
            "dashboard": {"existingSecret": "s", "existingSecretKey": "admin"},
        },
        "license": {"existingSecret": "s", "existingSecretKey": "lic"},
        "apiKey": {"existingSecret": "s", "existingSecretKey": "keys.txt"},
        "tls": {"enabled": True, "existingSecret": "s", "verifyClients": True, "dashboard": True},
        "metrics": {"serviceMonitor": {"force": True, "basicAuthSecret": "s"}},
        "extraObjects": [extra_secret("s", PRESENT)],
    }
    with pytest.raises(HelmError) as caught:
        render(helm, values)
    said = caught.value.stderr
    assert said.count("Error:") == 1 and said.count(HEADER) == 1, said
    for _, message in CASES.values():
        assert message in said, f"{message!r} missing from:\n{said}"


def test_the_service_monitor_reads_its_secrets_in_its_own_namespace(template):
    """prometheus-operator reads a ServiceMonitor's Secrets in the ServiceMonitor's namespace: the Secret of
    that name in the release namespace does not count."""
    monitor = {"force": True, "namespace": "monitoring", "basicAuthSecret": "auth"}
    in_release_namespace = extra_secret("auth", ["username", "password"])
    with pytest.raises(HelmError) as caught:
        template(
            {
                "metrics": {"serviceMonitor": monitor},
                "extraObjects": [in_release_namespace, extra_secret("auth", ["username"], "monitoring")],
            }
        )
    expected = "metrics.serviceMonitor.basicAuthSecret: Secret auth in namespace monitoring has no key password"
    assert expected in caught.value.stderr, caught.value.stderr
    accepted = template(
        {
            "metrics": {"serviceMonitor": monitor},
            "extraObjects": [extra_secret("auth", ["username", "password"], "monitoring")],
        }
    )
    assert accepted.one("ServiceMonitor")["metadata"]["namespace"] == "monitoring"


def test_a_secret_of_another_namespace_does_not_count(template):
    with pytest.raises(HelmError) as caught:
        template(
            {
                "license": {"existingSecret": "lic"},
                "extraObjects": [extra_secret("lic", ["other"]), extra_secret("lic", ["license-key"], "elsewhere")],
            }
        )
    assert "license.existingSecretKey: Secret lic in namespace emqx has no key license-key" in caught.value.stderr


def test_secrets_in_a_multi_document_extra_object_are_found(template):
    text = "\n".join(
        [
            "apiVersion: v1",
            "kind: Secret",
            "metadata: {name: lic, namespace: '{{ .Release.Namespace }}'}",
            "stringData: {license-key: evaluation}",
            "---",
            "apiVersion: v1",
            "kind: Secret",
            "metadata: {name: cookie}",
            "data: {erlang-cookie: eA==}",
        ]
    )
    values = {
        "license": {"existingSecret": "lic"},
        "auth": {"erlangCookie": {"existingSecret": "cookie"}, "dashboard": {"existingSecret": "lic"}},
        "extraObjects": [text],
    }
    with pytest.raises(HelmError) as caught:
        template(values)
    said = caught.value.stderr
    assert "auth.dashboard.existingSecretKey: Secret lic in namespace emqx has no key dashboard-password" in said
    assert "license.existingSecretKey" not in said and "auth.erlangCookie" not in said, said


def test_secrets_with_every_key_are_accepted(template):
    m = template(
        {
            "tls": {"enabled": True, "existingSecret": "tls", "verifyClients": True, "dashboard": True},
            "metrics": {"serviceMonitor": {"force": True, "basicAuthSecret": "auth"}},
            "license": {"existingSecret": "lic"},
            "extraObjects": [
                extra_secret("tls", ["tls.crt", "tls.key", "ca.crt"]),
                extra_secret("auth", ["username", "password"]),
                extra_secret("lic", ["license-key"]),
            ],
        }
    )
    assert m.statefulset["metadata"]["name"] == "emqx-ee"


def test_keys_nothing_uses_are_not_required(template):
    """ca.crt only where the ServiceMonitor renders (or verifyClients), the API key file only with apiKey on."""
    m = template(
        {
            "tls": {"enabled": True, "existingSecret": "s", "dashboard": True},
            "apiKey": {"enabled": False, "existingSecret": "s"},
            "tests": {"enabled": False},
            "extraObjects": [extra_secret("s", ["tls.crt", "tls.key"])],
        }
    )
    assert not m.of_kind("ServiceMonitor")


def test_without_a_cluster_nothing_unseen_is_refused_and_notes_list_it(template, helm4):
    values = {
        "license": {"existingSecret": "lic", "existingSecretKey": "key"},
        "tls": {"enabled": True, "existingSecret": "certs", "verifyClients": True},
        "metrics": {"serviceMonitor": {"force": True, "basicAuthSecret": "auth", "namespace": "monitoring"}},
        "imagePullSecrets": [{"name": "registry"}],
    }
    template(values)  # helm template: lookup reads nothing, so nothing is refused
    text = notes(helm4, values)
    lines = text.splitlines()
    assert lines[0].startswith("WARNING: the chart could not read the cluster"), text[:300]
    for expected in (
        "- license.existingSecret: Secret lic in namespace emqx, key key",
        "- tls.existingSecret: Secret certs in namespace emqx, keys tls.crt, tls.key, ca.crt",
        "- metrics.serviceMonitor.basicAuthSecret: Secret auth in namespace monitoring, keys username, password",
        "- imagePullSecrets: Secret registry in namespace emqx",
    ):
        assert any(line.strip() == expected for line in lines), f"{expected!r} not in:\n{text}"


def test_cert_managers_secret_is_not_required_before_it_is_issued(template, helm4):
    """cert-manager creates the Secret after the install (the pods wait for it): only its keys are checked,
    once it exists; NOTES say what it must hold."""
    cert_manager = {"enabled": True, "issuerRef": {"name": "ca"}}
    values = {"tls": {"enabled": True, "verifyClients": True, "certManager": cert_manager}}
    template(values)
    expected = (
        "- tls.certManager.enabled: Secret emqx-ee-tls in namespace emqx, key ca.crt (once cert-manager has issued it)"
    )
    assert any(line.strip() == expected for line in notes(helm4, values).splitlines())


def test_generated_credentials_need_no_secret_and_notes_have_no_secret_warning(helm4):
    assert "could not read the cluster" not in notes(helm4)


@pytest.mark.parametrize(
    ("values", "warned"),
    [
        ({}, True),
        ({"networkPolicy": {"enabled": False}}, False),
        ({"networkPolicy": {"dashboard": {"from": [{"namespaceSelector": {"matchLabels": {"x": "y"}}}]}}}, False),
    ],
    ids=["empty-from", "no-policy", "from-given"],
)
def test_a_dashboard_ingress_the_network_policy_refuses_is_warned(helm4, values, warned):
    ingress = {"ingress": {"dashboard": {"enabled": True, "hosts": ["emqx.example.com"]}}}
    text = notes(helm4, {**ingress, **values})
    warning = "WARNING: ingress.dashboard sends the dashboard through your Ingress controller"
    assert (warning in text) == warned, text[:600]
    if warned:
        assert "admits only pods of namespace emqx" in text and "networkPolicy.dashboard.from:" in text
