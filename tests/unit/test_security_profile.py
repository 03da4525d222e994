"""securityProfile reaches EMQX as EMQX_SECURITY_PROFILE, and every bind the chart writes names its address, so
the pods serve on the pod IP under both of EMQX 6.2.2's profiles.

kwok runs no container, so EMQX's side is shown against its source (tag 6.2.2) and the schema data:
- apps/emqx/src/emqx_security_profile.erl cache_profile/0 reads the variable (legacy, hardened; anything else
  stops the node), policy/1 maps mqtt_default_bind and dashboard_http_default_bind to loopback under hardened;
- apps/emqx/src/emqx_schema.erl listener_ip_port_converter/2 (maybe_add_loopback_converter) turns an MQTT
  listener bind given as a bare port (or ":port") into 127.0.0.1:<port> under hardened and keeps one with an
  address;
- apps/emqx_dashboard/src/emqx_dashboard.erl ip_port/2 binds the HTTP listener of a bare port on the loopback
  address under hardened and on the given address when the bind has one."""

import pytest

from harness.emqx_config import check_variable, parse_value
from harness.helm import HelmError, notes
from harness.scenarios import effective_values, served

pytestmark = pytest.mark.unit

TYPES = {"mqtt": "tcp", "mqtts": "ssl", "ws": "ws", "wss": "wss"}
PROFILES = ("legacy", "hardened")
DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883, "ws": 8083, "wss": 8084}
MOVED = {
    "listeners": {n: {"containerPort": 20000 + i} for i, n in enumerate(TYPES)},
    "dashboard": {"containerPort": 28083},
}


def address_under(profile: str, text: str, converter: str) -> str:
    """The address EMQX 6.2.2 listens on for a bind variable (a model of the source cited in the module
    docstring): bare ports move to the loopback address under hardened, addresses stay."""
    parsed = parse_value(text)
    value = parsed.data
    if parsed.kind == "integer" or (isinstance(value, str) and value.startswith(":")):
        port = str(value).lstrip(":")
        return f"127.0.0.1:{port}" if profile == "hardened" else f"0.0.0.0:{port}"
    assert isinstance(value, str) and ":" in value, f"{converter}: not a bind {value!r}"
    return value


def binds(settings: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in settings.items() if k.endswith("__BIND")}


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(
    "values",
    [
        {},
        MOVED,
        {"tls": {"enabled": True, "existingSecret": "broker-tls", "dashboard": True}},
        {"listeners": {"mqtts": {"enabled": False}, "wss": {"enabled": False}, "ws": {"enabled": False}}},
        {"tls": {"testCertificate": True}},
    ],
    ids=["default", "moved-ports", "dashboard-https", "mqtt-only", "test-certificate"],
)
def test_every_bind_serves_on_the_pod_ip_under_both_profiles(template, profile, values):
    m = template({**values, "securityProfile": profile})
    settings = m.settings()
    assert settings["EMQX_SECURITY_PROFILE"] == profile
    listeners = {n: {"enabled": True, "containerPort": p} for n, p in DEFAULT_PORTS.items()}
    for name, given in values.get("listeners", {}).items():
        listeners[name] = {**listeners[name], **given}
    dashboard_port = values.get("dashboard", {}).get("containerPort", 18083)
    expected = {}
    for name, listener in listeners.items():
        if served(effective_values(values), name):
            expected[f"EMQX_LISTENERS__{TYPES[name].upper()}__DEFAULT__BIND"] = f"0.0.0.0:{listener['containerPort']}"
    https = values.get("tls", {}).get("dashboard", False)
    expected[f"EMQX_DASHBOARD__LISTENERS__{'HTTPS' if https else 'HTTP'}__BIND"] = f"0.0.0.0:{dashboard_port}"
    found = binds(settings)
    if https:
        http = found.pop("EMQX_DASHBOARD__LISTENERS__HTTP__BIND")
        assert http == "0", "bind 0: HTTP off (emqx_dashboard.erl listeners/1)"
    listening = {k: address_under(profile, v, k) for k, v in found.items()}
    assert listening == expected
    for name, text in settings.items():
        assert check_variable(name, text) == [], (name, text)
    ports = {p["name"]: p["containerPort"] for p in m.statefulset["spec"]["template"]["spec"]["containers"][0]["ports"]}
    for name, listener in listeners.items():
        if served(effective_values(values), name):
            assert ports[name] == listener["containerPort"], name
    assert ports["dashboard"] == dashboard_port


def test_a_bare_port_would_serve_on_loopback_only_under_hardened():
    """The model above agrees with the source on the case the explicit binds avoid, so the test above can fail."""
    assert address_under("hardened", "1883", "tcp") == "127.0.0.1:1883"
    assert address_under("hardened", '":1883"', "tcp") == "127.0.0.1:1883"
    assert address_under("legacy", "18083", "http") == "0.0.0.0:18083"


def test_default_profile_is_legacy(template):
    assert template().settings()["EMQX_SECURITY_PROFILE"] == "legacy"


def test_other_profiles_and_a_second_source_are_refused(template):
    with pytest.raises(HelmError) as caught:
        template({"securityProfile": "strict"})
    assert "securityProfile" in caught.value.stderr, caught.value.stderr
    with pytest.raises(HelmError) as caught:
        template({"extraEnv": [{"name": "EMQX_SECURITY_PROFILE", "value": "hardened"}]})
    assert "extraEnv[0] EMQX_SECURITY_PROFILE: the chart sets this variable itself, from securityProfile" in (
        caught.value.stderr
    ), caught.value.stderr


AUTHN = {
    "authentication": [{"mechanism": "password_based", "backend": "built_in_database", "user_id_type": "username"}]
}


def test_hardened_without_an_authenticator_warns_that_clients_are_refused(helm4):
    """emqx_authn_chains.erl authenticate/2: no authenticator and policy authn_not_configured = deny under
    hardened. With mqttAuth off the chart configures none (a dashboard one is invisible to it): NOTES warn."""
    warning = "WARNING: securityProfile=hardened, mqttAuth off and emqxConfig configures no authentication"
    off = {"securityProfile": "hardened", "mqttAuth": {"enabled": False}}
    assert warning in notes(helm4, off)
    assert "connects, publishes and subscribes without credentials" not in notes(helm4, off), "hardened refuses"
    assert warning not in notes(helm4, {**off, "emqxConfig": AUTHN})
    assert warning not in notes(helm4, {"securityProfile": "hardened"}), "the chart's own authenticator"
    assert warning not in notes(helm4)
