"""TLS on the mqtts and wss listeners: the certificate from the user's Secret or from a cert-manager Certificate,
mounted read-only into the EMQX container, with EMQX settings whose file paths HOCON reads whole."""

import pytest

from harness.helm import HelmError, notes
from harness.query import jp1
from harness.scenarios import effective_values

pytestmark = pytest.mark.unit

DIR = "/opt/emqx/etc/certs/tls"
FROM_SECRET = {"tls": {"enabled": True, "existingSecret": "broker-tls"}}
FROM_CERT_MANAGER = {
    "replicaCount": 3,
    "license": {"key": "evaluation"},
    "tls": {"enabled": True, "certManager": {"enabled": True, "issuerRef": {"name": "ca", "kind": "ClusterIssuer"}}},
}


def config(m):
    return m.settings()


def test_no_tls_settings_by_default(template):
    m = template()
    assert not [k for k in config(m) if "SSL_OPTIONS" in k]
    assert m.maybe("Certificate") is None
    assert "tls" not in [v["name"] for v in m.statefulset["spec"]["template"]["spec"]["volumes"]]


@pytest.mark.parametrize("listener", ["SSL", "WSS"])
def test_tls_listeners_read_the_mounted_certificate(template, listener):
    data = config(template(FROM_SECRET))
    prefix = f"EMQX_LISTENERS__{listener}__DEFAULT__SSL_OPTIONS__"
    assert data[f"{prefix}CERTFILE"] == f'"{DIR}/tls.crt"', "quoted: HOCON reads a path starting with / otherwise"
    assert data[f"{prefix}KEYFILE"] == f'"{DIR}/tls.key"'
    assert f"{prefix}VERIFY" not in data and f"{prefix}CACERTFILE" not in data


def test_certificate_is_mounted_read_only_in_the_emqx_container(template):
    spec = template(FROM_SECRET).statefulset["spec"]["template"]["spec"]
    volume = next(v for v in spec["volumes"] if v["name"] == "tls")
    assert volume["secret"]["secretName"] == "broker-tls"
    assert [i["key"] for i in volume["secret"]["items"]] == ["tls.crt", "tls.key"]
    assert volume["secret"]["defaultMode"] == 0o440
    mount = next(m for m in spec["containers"][0]["volumeMounts"] if m["name"] == "tls")
    assert mount == {"name": "tls", "mountPath": DIR, "readOnly": True}


def test_mutual_tls_verifies_clients_against_ca_crt(template):
    m = template({"tls": {**FROM_SECRET["tls"], "verifyClients": True}})
    data = config(m)
    for listener in ("SSL", "WSS"):
        prefix = f"EMQX_LISTENERS__{listener}__DEFAULT__SSL_OPTIONS__"
        assert data[f"{prefix}CACERTFILE"] == f'"{DIR}/ca.crt"'
        assert (data[f"{prefix}VERIFY"], data[f"{prefix}FAIL_IF_NO_PEER_CERT"]) == ("verify_peer", "true")
    items = jp1(m.statefulset, "$.spec.template.spec.volumes[?name='tls'].secret.items")
    assert [i["key"] for i in items] == ["tls.crt", "tls.key", "ca.crt"]


def test_only_enabled_tls_listeners_get_settings(template):
    data = config(template({**FROM_SECRET, "listeners": {"wss": {"enabled": False}}}))
    assert "EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__CERTFILE" in data
    assert not [k for k in data if k.startswith("EMQX_LISTENERS__WSS__DEFAULT__SSL_OPTIONS")]


def test_cert_manager_certificate_covers_services_and_every_pod(template):
    m = template(FROM_CERT_MANAGER)
    cert = m.one("Certificate", "emqx-ee")["spec"]
    headless = "emqx-ee-headless.emqx.svc.cluster.local"
    assert set(cert["dnsNames"]) == {
        "emqx-ee",
        "emqx-ee.emqx",
        "emqx-ee.emqx.svc",
        "emqx-ee.emqx.svc.cluster.local",
        headless,
        f"*.{headless}",
        *(f"emqx-ee-{i}.{headless}" for i in range(3)),
    }
    assert cert["issuerRef"] == {"name": "ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}
    assert (cert["duration"], cert["renewBefore"]) == ("2160h", "360h")
    mounted = jp1(m.statefulset, "$.spec.template.spec.volumes[?name='tls'].secret.secretName")
    assert cert["secretName"] == mounted == "emqx-ee-tls"


def test_every_cert_manager_scenario_gets_its_certificate(every_scenario):
    """Issuer, lifetimes and extra names as each scenario sets them (16), beside the names of the test above."""
    for scenario, m in every_scenario:
        tls = effective_values(scenario.values)["tls"]
        cert = m.maybe("Certificate", "emqx-ee")
        assert (cert is not None) == (tls["enabled"] and tls["certManager"]["enabled"]), scenario.name
        if cert:
            wanted, spec = tls["certManager"], cert["spec"]
            assert spec["issuerRef"] == wanted["issuerRef"], scenario.name
            assert (spec["duration"], spec["renewBefore"]) == (wanted["duration"], wanted["renewBefore"])
            assert set(wanted["extraDnsNames"]) <= set(spec["dnsNames"]), scenario.name


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"tls": {"enabled": True}}, "/tls"),
        ({"tls": {"enabled": True, "certManager": {"enabled": True}}}, "/tls/certManager/issuerRef/name"),
        ({"tls": {"certManager": {"enabled": True, "duration": "90d", "issuerRef": {"name": "x"}}}}, "duration"),
        (
            {**FROM_SECRET, "listeners": {"mqtts": {"enabled": False}, "wss": {"enabled": False}}},
            "neither TLS listener",
        ),
        ({"tls": {"verifyClients": True}}, "tls.verifyClients needs tls.enabled"),
    ],
    ids=["no-source", "no-issuer", "duration-in-days", "no-tls-listener", "mtls-without-tls"],
)
def test_incoherent_tls_values_are_refused(template, values, message):
    with pytest.raises(HelmError) as caught:
        template(values)
    assert message in caught.value.stderr, caught.value.stderr


def test_dashboard_over_https_only(template):
    m = template({"tls": {"enabled": True, "existingSecret": "broker-tls", "dashboard": True}})
    c = config(m)
    assert c["EMQX_DASHBOARD__LISTENERS__HTTP__BIND"] == "0", "plain HTTP is switched off"
    assert c["EMQX_DASHBOARD__LISTENERS__HTTPS__BIND"] == '"0.0.0.0:18083"'
    assert c["EMQX_DASHBOARD__LISTENERS__HTTPS__SSL_OPTIONS__CERTFILE"] == f'"{DIR}/tls.crt"'
    assert c["EMQX_DASHBOARD__LISTENERS__HTTPS__SSL_OPTIONS__KEYFILE"] == f'"{DIR}/tls.key"'
    container = m.statefulset["spec"]["template"]["spec"]["containers"][0]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["scheme"] == "HTTPS", probe
    test = {e["name"]: e.get("value") for e in m.one("Pod")["spec"]["containers"][0]["env"]}
    assert (test["API_SCHEME"], test["API_CA"]) == ("https", "/opt/test/tls/ca.crt")
    moved = config(template({"tls": {"enabled": True, "existingSecret": "t", "dashboard": True},
                             "dashboard": {"containerPort": 28083}}))  # fmt: skip
    assert moved["EMQX_DASHBOARD__LISTENERS__HTTPS__BIND"] == '"0.0.0.0:28083"'


def test_dashboard_https_alone_is_a_use_of_the_certificate(template):
    only = {"enabled": True, "existingSecret": "t", "dashboard": True}
    m = template({"tls": only, "listeners": {"mqtts": {"enabled": False}, "wss": {"enabled": False}}})
    assert "EMQX_DASHBOARD__LISTENERS__HTTPS__BIND" in config(m)
    with pytest.raises(HelmError, match="tls.dashboard needs tls.enabled"):
        template({"tls": {"dashboard": True}})
    with pytest.raises(HelmError, match="cannot be set here"):
        template({"emqxConfig": {"dashboard.listeners.https.bind": 18084}})


def test_without_a_certificate_no_port_serves_emqx_test_certificate(template, helm4):
    """EMQX ships a test certificate whose private key is public (etc/certs in its repository): without
    tls.enabled the TLS listeners are off, and NOTES say why (templates/_listeners.tpl)."""
    settings = config(template())
    assert settings["EMQX_LISTENERS__SSL__DEFAULT__ENABLE"] == "false"
    assert settings["EMQX_LISTENERS__WSS__DEFAULT__ENABLE"] == "false"
    text = notes(helm4)
    assert "NOTE: mqtts and wss are off: there is no certificate (tls.enabled=false)" in text
    assert "test certificate EMQX ships" not in text


def test_the_test_certificate_only_when_asked_and_with_a_warning(template, helm4):
    settings = config(template({"tls": {"testCertificate": True}, "listeners": {"wss": {"enabled": False}}}))
    assert "EMQX_LISTENERS__SSL__DEFAULT__ENABLE" not in settings
    assert settings["EMQX_LISTENERS__SSL__DEFAULT__BIND"] == '"0.0.0.0:8883"'
    text = notes(helm4, {"tls": {"testCertificate": True}, "listeners": {"wss": {"enabled": False}}})
    assert "WARNING: mqtts is served with the test certificate EMQX ships" in text
    assert "stays on because" not in text, "asked for, not kept"
    assert "NOTE: mqtts and wss are off" not in text


@pytest.mark.parametrize(
    "values, message",
    [
        (
            {"service": {"type": "NodePort", "nodePorts": {"mqtts": 30883}}},
            "service.nodePorts.mqtts: listener mqtts is not served (listeners.mqtts.enabled) (TLS listeners are off",
        ),
        (
            {"listeners": {"mqtt": {"enabled": False}, "ws": {"enabled": False}}},
            "listeners: no listener would be served, so the brokers would accept no client (TLS listeners are off",
        ),
    ],
    ids=["node-port", "no-listener"],
)
def test_values_that_need_the_tls_listeners_without_a_certificate_are_refused(template, values, message):
    with pytest.raises(HelmError) as caught:
        template(values)
    assert message in caught.value.stderr, caught.value.stderr
    template({**values, "tls": {"testCertificate": True}})
