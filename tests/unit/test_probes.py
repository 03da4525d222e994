"""Startup, readiness and liveness probes on GET /status of the dashboard port (18083, no auth)."""

import pytest

from harness.query import jp, jp1

pytestmark = pytest.mark.unit

EMQX = "$.spec.template.spec.containers[?name='emqx']"


@pytest.mark.parametrize("probe", ["startupProbe", "readinessProbe", "livenessProbe"])
def test_probes_ask_status_on_the_dashboard_port(every_scenario, probe):
    for scenario, m in every_scenario:
        sts = m.statefulset
        get = jp1(sts, f"{EMQX}.{probe}.httpGet")
        https = "EMQX_DASHBOARD__LISTENERS__HTTPS__BIND" in m.settings()
        expected = {"path": "/status", "port": "dashboard", **({"scheme": "HTTPS"} if https else {})}
        assert get == expected, f"{scenario.name}: {get}"
        assert jp1(sts, f"{EMQX}.ports[?name='dashboard'].containerPort") == 18083, scenario.name


def test_probe_timings_are_tunable(template):
    sts = template(
        {"livenessProbe": {"periodSeconds": 30, "failureThreshold": 2}, "startupProbe": {"failureThreshold": 120}}
    ).statefulset
    live = jp1(sts, f"{EMQX}.livenessProbe")
    assert live["periodSeconds"] == 30 and live["failureThreshold"] == 2 and live["timeoutSeconds"] == 5
    assert jp1(sts, f"{EMQX}.startupProbe.failureThreshold") == 120


def test_startup_probe_allows_a_slow_first_boot(template):
    startup = jp1(template().statefulset, f"{EMQX}.startupProbe")
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 300


def test_probes_can_be_disabled(template):
    container = jp1(template({"livenessProbe": {"enabled": False}}).statefulset, EMQX)
    assert "livenessProbe" not in container and "readinessProbe" in container
    assert "enabled" not in container["readinessProbe"]
    assert jp(container, "$.readinessProbe.httpGet")
