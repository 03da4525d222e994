"""Secure defaults on the live cluster, where `lookup` reads the release's objects (templates/_listeners.tpl,
emqx-ee.mqttAuthOn in templates/_credentials.tpl).

MQTT authentication: a new install carries the chart's authenticator (the base.hocon annotation, mounted
with the users file); an upgrade of a release that allowed anonymous clients (chart 0.3.0) keeps them
allowed, with a NOTES warning, until the user turns authentication on, after which it stays on.

Without a certificate (tls.enabled false) EMQX would serve mqtts and wss with the test certificate it ships,
whose private key is public: a new install leaves them off, while an upgrade of a release whose pods serve
them (chart 0.3.0 left them on) keeps them on, with a NOTES warning, so no client's port closes.

kwok starts no container: what EMQX serves is read from the StatefulSet (container ports, EMQX_* env) and the
client Service; the settings' meaning is covered by the render tests against EMQX's schema.
"""

import pytest

from harness.helm import emqx_settings
from harness.kubelet import assert_startable
from harness.statefulset import wait_ready
from harness.tools import chart_from_git

pytestmark = pytest.mark.smoke

BASE = {"minReadySeconds": 0, "license": {"key": "evaluation"}}
TLS_PORTS = {"mqtts", "wss"}
OFF = {"EMQX_LISTENERS__SSL__DEFAULT__ENABLE", "EMQX_LISTENERS__WSS__DEFAULT__ENABLE"}


def served(kubectl, namespace):
    """(container port names of the emqx container, client Service port names, EMQX settings)."""
    sts = kubectl.get("statefulset", namespace, "emqx-ee")
    container = next(c for c in sts["spec"]["template"]["spec"]["containers"] if c["name"] == "emqx")
    service = kubectl.get("service", namespace, "emqx-ee")
    return {p["name"] for p in container["ports"]}, {p["name"] for p in service["spec"]["ports"]}, emqx_settings(sts)


def authenticator(kubectl, namespace):
    """(the pod template's base.hocon annotation or None, names of the emqx container's volume mounts)."""
    template = kubectl.get("statefulset", namespace, "emqx-ee")["spec"]["template"]
    container = next(c for c in template["spec"]["containers"] if c["name"] == "emqx")
    base = template["metadata"].get("annotations", {}).get("emqx-ee/base-hocon")
    return base, {m["name"] for m in container["volumeMounts"]}


def test_an_upgrade_from_0_3_0_keeps_the_tls_listeners_its_clients_may_use(release, kubectl, namespace, tmp_path):
    rel = release()
    rel.install(BASE, chart=chart_from_git("0.3.0", tmp_path))
    wait_ready(kubectl, namespace, 1)
    before, _, _ = served(kubectl, namespace)
    assert TLS_PORTS <= before, "chart 0.3.0 served mqtts and wss with EMQX's test certificate"

    for _ in range(2):  # the first upgrade keeps them, and so does the next one (the pods still serve them)
        out = rel.upgrade(BASE)
        assert "WARNING: mqtts and wss are served with the test certificate EMQX ships" in out, out
        assert "They stay on because the pods served them before this upgrade" in out, out
        container, service, settings = served(kubectl, namespace)
        assert TLS_PORTS <= container and TLS_PORTS <= service
        assert not OFF & set(settings), settings
        assert "WARNING: MQTT clients connect without credentials" in out, out
        base, mounts = authenticator(kubectl, namespace)
        assert base is None and not {"base-hocon", "mqtt-users"} & mounts, "anonymous clients keep connecting"
        assert "EMQX_AUTHENTICATION" not in settings

    rel.upgrade({**BASE, "listeners": {"wss": {"enabled": False}}})
    container, service, settings = served(kubectl, namespace)
    assert (
        "wss" not in container and "wss" not in service and settings["EMQX_LISTENERS__WSS__DEFAULT__ENABLE"] == "false"
    ), "the user turns a kept listener off"
    assert "mqtts" in container

    out = rel.upgrade({**BASE, "mqttAuth": {"enabled": True}})
    base, mounts = authenticator(kubectl, namespace)
    assert base and "built_in_database" in base and {"base-hocon", "mqtt-users"} <= mounts, "turned on"
    assert "mqtt-users" in kubectl.get("secret", namespace, "emqx-ee")["data"]
    rel.upgrade(BASE)
    assert authenticator(kubectl, namespace)[0] == base, "auto keeps it on once the release has it"


def test_a_new_install_serves_no_port_with_the_test_certificate(release, kubectl, namespace):
    out = release().install(BASE)
    assert "NOTE: mqtts and wss are off: there is no certificate" in out, out
    container, service, settings = served(kubectl, namespace)
    assert not TLS_PORTS & container and not TLS_PORTS & service
    assert {settings[k] for k in OFF} == {"false"}
    assert {"mqtt", "ws"} <= container
    base, mounts = authenticator(kubectl, namespace)
    assert base and "bootstrap_file" in base and {"base-hocon", "mqtt-users"} <= mounts, "secure by default"
    assert "WARNING: MQTT clients connect without credentials" not in out
    wait_ready(kubectl, namespace, 1)
    assert_startable(kubectl, namespace)  # the users file's Secret and key exist, as a kubelet needs them
