"""Secure defaults on the live cluster, where `lookup` reads the release's objects (templates/_listeners.tpl).

Without a certificate (tls.enabled false) EMQX would serve mqtts and wss with the test certificate it ships,
whose private key is public: a new install leaves them off, while an upgrade of a release whose pods serve
them (chart 0.3.0 left them on) keeps them on, with a NOTES warning, so no client's port closes.

kwok starts no container: what EMQX serves is read from the StatefulSet (container ports, EMQX_* env) and the
client Service; the settings' meaning is covered by the render tests against EMQX's schema.
"""

import pytest

from harness.helm import emqx_settings
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

    rel.upgrade({**BASE, "listeners": {"wss": {"enabled": False}}})
    container, service, settings = served(kubectl, namespace)
    assert (
        "wss" not in container and "wss" not in service and settings["EMQX_LISTENERS__WSS__DEFAULT__ENABLE"] == "false"
    ), "the user turns a kept listener off"
    assert "mqtts" in container


def test_a_new_install_serves_no_port_with_the_test_certificate(release, kubectl, namespace):
    out = release().install(BASE)
    assert "NOTE: mqtts and wss are off: there is no certificate" in out, out
    container, service, settings = served(kubectl, namespace)
    assert not TLS_PORTS & container and not TLS_PORTS & service
    assert {settings[k] for k in OFF} == {"false"}
    assert {"mqtt", "ws"} <= container
