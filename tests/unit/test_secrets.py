"""Secrets never in a ConfigMap; cookie, dashboard password and license reach EMQX by secretKeyRef."""

import base64

import pytest

from harness.helm import HelmError
from harness.query import env_value
from harness.scenarios import scenarios

pytestmark = pytest.mark.unit

SECRET_ENV = ("EMQX_NODE__COOKIE", "EMQX_DASHBOARD__DEFAULT_PASSWORD", "EMQX_LICENSE__KEY")


def secret_values(manifests) -> set[str]:
    values = set()
    for secret in manifests.of_kind("Secret"):
        values |= {base64.b64decode(v).decode() for v in secret.get("data", {}).values()}
        values |= set(secret.get("stringData", {}).values())
    return values


def test_no_configmap_holds_a_secret(every_scenario):
    for scenario, m in every_scenario:
        secrets = secret_values(m)
        assert secrets, f"{scenario.name}: expected at least one Secret value to look for"
        for cm in m.of_kind("ConfigMap"):
            for key, value in cm["data"].items():
                assert key not in SECRET_ENV, f"{scenario.name}: ConfigMap/{cm['metadata']['name']} has {key}"
                where = f"{scenario.name}: ConfigMap/{cm['metadata']['name']} {key}"
                assert value not in secrets, f"{where} holds a secret value"


def test_secret_env_comes_from_secret_key_refs(every_scenario):
    for scenario, m in every_scenario:
        for name in ("EMQX_NODE__COOKIE", "EMQX_DASHBOARD__DEFAULT_PASSWORD"):
            entry = env_value(m.statefulset, name)
            assert "value" not in entry and "secretKeyRef" in entry["valueFrom"], f"{scenario.name} {name}: {entry}"


def test_generated_secret_holds_cookie_and_password_and_is_kept_on_uninstall(template):
    secret = template().one("Secret", "emqx-ee")
    assert set(secret["data"]) == {
        "erlang-cookie",
        "dashboard-password",
        "api-key-name",
        "api-key-secret",
        "api-key-bootstrap",
        "mqtt-username",
        "mqtt-password",
        "mqtt-users",
    }
    assert len(base64.b64decode(secret["data"]["erlang-cookie"])) >= 32
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_license_key_goes_to_the_secret(template):
    m = template({"license": {"key": "evaluation"}})
    assert base64.b64decode(m.one("Secret", "emqx-ee")["data"]["license-key"]).decode() == "evaluation"
    assert env_value(m.statefulset, "EMQX_LICENSE__KEY")["valueFrom"]["secretKeyRef"] == {
        "name": "emqx-ee",
        "key": "license-key",
    }


def test_no_license_env_without_a_license(template):
    env = template().statefulset["spec"]["template"]["spec"]["containers"][0]["env"]
    assert "EMQX_LICENSE__KEY" not in [e["name"] for e in env]


def test_existing_secrets_replace_the_generated_one(template):
    m = template(
        {
            "auth": {
                "erlangCookie": {"existingSecret": "vault-cookie", "existingSecretKey": "c"},
                "dashboard": {"existingSecret": "vault-dash", "existingSecretKey": "p"},
            },
            "license": {"existingSecret": "vault-license", "existingSecretKey": "l", "key": "ignored"},
            "apiKey": {"existingSecret": "vault-api", "existingSecretKey": "k"},
            "mqttAuth": {"existingSecret": "vault-mqtt", "existingSecretKey": "u"},
        }
    )
    assert m.maybe("Secret") is None, "every credential comes from an existing Secret"
    sts = m.statefulset
    assert env_value(sts, "EMQX_NODE__COOKIE")["valueFrom"]["secretKeyRef"] == {"name": "vault-cookie", "key": "c"}
    assert env_value(sts, "EMQX_DASHBOARD__DEFAULT_PASSWORD")["valueFrom"]["secretKeyRef"] == {
        "name": "vault-dash",
        "key": "p",
    }
    assert env_value(sts, "EMQX_LICENSE__KEY")["valueFrom"]["secretKeyRef"] == {"name": "vault-license", "key": "l"}


def test_existing_secrets_scenario_uses_its_secret(template):
    scenario = next(s for s in scenarios() if s.name == "06-existing-secrets")
    m = template(scenario.values)
    refs = {n: env_value(m.statefulset, n)["valueFrom"]["secretKeyRef"]["name"] for n in SECRET_ENV}
    assert set(refs.values()) == {"emqx-credentials"}, refs
    assert m.maybe("Secret", "emqx-ee") is None


@pytest.mark.parametrize(
    "key",
    [
        "node.cookie",
        "license.key",
        "dashboard.default_password",
        "node.name",
        "dashboard.default_username",
        "node.data_dir",
    ],
)
def test_owned_or_secret_keys_are_refused_in_emqx_config(template, key):
    with pytest.raises(HelmError) as err:
        template({"emqxConfig": {key: "x"}})
    assert f"emqxConfig.{key} cannot be set here" in err.value.stderr


# Secret fields of EMQX 6.2.2's schema, one per word of the chart's refusal list.
SECRET_FIELDS = [
    "connectors.mqtt.cloud.password",
    "dashboard.sso.oidc.secret",
    "connectors.tdengine.x.token",
    "connectors.rocketmq.x.secret_key",
    "connectors.s3.x.secret_access_key",
]


@pytest.mark.parametrize("path", SECRET_FIELDS)
def test_secret_fields_are_refused_in_emqx_config(template, path):
    with pytest.raises(HelmError) as err:
        template({"emqxConfig": {path: "s3cr3t"}})
    assert f"emqxConfig.{path} looks like a secret" in err.value.stderr
    assert "valueFrom.secretKeyRef" in err.value.stderr


@pytest.mark.parametrize(
    "word", ["password", "passwd", "secret", "token", "api_key", "secret_key", "secret_access_key", "private_key"]
)
def test_every_secret_word_is_refused_even_past_the_schema_check(template, word):
    """Each word of the refusal list, on a path the schema check lets through only with allowUnknown: the
    secret refusal never stands aside."""
    path = f"connectors.http.x.{word}"
    with pytest.raises(HelmError) as err:
        template({"emqxConfig": {path: "s3cr3t"}, "emqxConfigCheck": {"allowUnknown": True}})
    assert f"emqxConfig.{path} looks like a secret" in err.value.stderr


def test_generated_cookies_meet_emqx_cookie_rules(every_scenario):
    """EMQX 6.2.2 refuses cookies that are empty, over 255 characters, or hold \\ ' " or a space; a cookie the
    chart makes must never trip that. Each scenario that generates a cookie drew a fresh random one."""
    cookies = [
        base64.b64decode(secret["data"]["erlang-cookie"]).decode()
        for _, m in every_scenario
        if (secret := m.maybe("Secret", "emqx-ee")) and "erlang-cookie" in secret["data"]
    ]
    assert len(set(cookies)) >= 10, f"too few generated cookies to sample: {len(set(cookies))}"
    for cookie in cookies:
        assert 0 < len(cookie) <= 255 and not set(cookie) & set("\\'\" "), cookie


def test_every_reference_into_a_rendered_secret_names_a_key_it_renders(every_scenario):
    """A secretKeyRef naming a key the chart's Secret lacks passes kwok and fails on a real node."""
    for scenario, m in every_scenario:
        rendered = {
            s["metadata"]["name"]: set(s.get("data") or {}) | set(s.get("stringData") or {})
            for s in m.of_kind("Secret")
        }
        checked = 0
        for owner, spec in m.pod_specs():
            for container in spec["containers"]:
                for entry in container.get("env", []):
                    ref = entry.get("valueFrom", {}).get("secretKeyRef")
                    if ref and ref["name"] in rendered:
                        where = f"{scenario.name}: {owner['metadata']['name']} {entry['name']}: {ref}"
                        assert ref["key"] in rendered[ref["name"]], where
                        checked += 1
        assert checked, f"{scenario.name}: no reference into a rendered Secret to check"
