"""MQTT clients authenticate against EMQX's built-in database, whose users come from a file at boot.

kwok runs no container, so EMQX's side is shown against its 6.2.2 source and schema data:
- the authenticator's fields (apps/emqx_auth_mnesia/src/emqx_authn_mnesia_schema.erl fields/1 and
  bootstrap_fields/0: bootstrap_file, bootstrap_type plain|hash) are checked by the schema check;
- the users file is CSV, chosen by its .csv extension, with a header naming user_id and password for
  bootstrap_type plain (emqx_authn_mnesia.erl reader_fn/2, convert_user/3, find_password_hash/3);
- the chart's authenticator sits in base.hocon, the lowest layer (emqx_config.erl init_load/2 reads base.hocon,
  cluster.hocon, etc/emqx.conf, then merges EMQX_* variables on top, overlay_v1/2), so an authentication of
  the user's in emqxConfig (a variable) or the dashboard (cluster.hocon) replaces it.
"""

import base64
import csv
import io
import json

import pytest

from harness.emqx_config import check_variable
from harness.helm import HelmError, emqx_settings, notes

pytestmark = pytest.mark.unit

MOUNT = "/opt/emqx/etc/mqtt-auth"


def emqx_container(m):
    return next(c for c in m.statefulset["spec"]["template"]["spec"]["containers"] if c["name"] == "emqx")


def base_hocon(m) -> str | None:
    return m.statefulset["spec"]["template"]["metadata"].get("annotations", {}).get("emqx-ee/base-hocon")


def authenticators(text: str) -> str:
    line = next(line for line in text.splitlines() if line.startswith("authentication = "))
    return line.removeprefix("authentication = ")


def test_a_new_install_authenticates_with_the_generated_user(template):
    m = template()
    text = base_hocon(m)
    assert text, "the pod template carries the chart's base.hocon"
    chain = authenticators(text)
    [authn] = json.loads(chain)
    for field, value in authn.items():  # each field and value against EMQX 6.2.2's schema data
        assert check_variable(f"EMQX_AUTHENTICATION__1__{field.upper()}", json.dumps(value)) == [], field
    assert authn == {
        "mechanism": "password_based",
        "backend": "built_in_database",
        "user_id_type": "username",
        "bootstrap_type": "plain",
        "bootstrap_file": f"{MOUNT}/users.csv",
    }
    mounts = {v["mountPath"]: v for v in emqx_container(m)["volumeMounts"]}
    assert mounts["/opt/emqx/etc/base.hocon"]["subPath"] == "base.hocon" and mounts[MOUNT]["readOnly"]
    volumes = {v["name"]: v for v in m.statefulset["spec"]["template"]["spec"]["volumes"]}
    assert volumes["base-hocon"]["downwardAPI"]["items"][0]["fieldRef"]["fieldPath"] == (
        "metadata.annotations['emqx-ee/base-hocon']"
    )
    users = volumes[mounts[MOUNT]["name"]]["secret"]
    assert users["secretName"] == "emqx-ee" and users["items"] == [{"key": "mqtt-users", "path": "users.csv"}]

    data = m.one("Secret", "emqx-ee")["data"]
    rows = list(csv.DictReader(io.StringIO(base64.b64decode(data["mqtt-users"]).decode())))
    password = base64.b64decode(data["mqtt-password"]).decode()
    assert rows == [{"user_id": "mqtt", "password": password, "is_superuser": "false"}]
    assert len(password) == 40 and base64.b64decode(data["mqtt-username"]) == b"mqtt"
    assert "EMQX_AUTHENTICATION" not in emqx_settings(m.statefulset), "never a variable, which would override"

    test = m.one("Pod")["spec"]
    env = {e["name"]: e.get("value") for e in test["containers"][0]["env"]}
    assert env["MQTT_USERS_FILE"] == "/opt/test/mqtt-auth/users.csv", "helm test connects as the first user"
    test_volumes = {v["name"]: v for v in test["volumes"]}
    assert test_volumes["mqtt-users"]["secret"]["items"] == [{"key": "mqtt-users", "path": "users.csv"}]


def test_base_hocon_keeps_emqx_own_base_settings(template):
    """The file replaces EMQX 6.2.2's apps/emqx_conf/etc/base.hocon in the container: its settings stay."""
    text = base_hocon(template())
    for line in (
        "http.bind = 18083",
        'certfile = "${EMQX_ETC_DIR}/certs/cert.pem"',
        'keyfile = "${EMQX_ETC_DIR}/certs/key.pem"',
    ):
        assert line in text, line


def test_an_existing_secret_supplies_the_users_file(template):
    m = template({"mqttAuth": {"existingSecret": "vault-mqtt", "existingSecretKey": "u.csv"}})
    volumes = {v["name"]: v for v in m.statefulset["spec"]["template"]["spec"]["volumes"]}
    assert volumes["mqtt-users"]["secret"]["secretName"] == "vault-mqtt"
    assert volumes["mqtt-users"]["secret"]["items"] == [{"key": "u.csv", "path": "users.csv"}]
    assert "mqtt-users" not in (m.maybe("Secret", "emqx-ee") or {}).get("data", {}), "nothing generated"


def test_turned_off_the_pods_carry_no_authenticator_and_notes_warn(template, helm4):
    m = template({"mqttAuth": {"enabled": False}})
    assert base_hocon(m) is None
    assert not [v for v in emqx_container(m)["volumeMounts"] if v["name"] in ("base-hocon", "mqtt-users")]
    env = {e["name"] for e in m.one("Pod")["spec"]["containers"][0]["env"]}
    assert "MQTT_USERS_FILE" not in env, "helm test connects anonymously"
    assert "WARNING: mqttAuth.enabled=false and emqxConfig configures no authentication" in notes(
        helm4, {"mqttAuth": {"enabled": False}}
    )


def test_an_authentication_of_the_users_replaces_the_charts(template, helm4):
    """emqxConfig.authentication is a variable, merged above base.hocon: EMQX takes the user's list whole."""
    mine = [{"mechanism": "password_based", "backend": "built_in_database", "user_id_type": "clientid"}]
    m = template({"emqxConfig": {"authentication": mine}})
    assert json.loads(emqx_settings(m.statefulset)["EMQX_AUTHENTICATION"]) == mine
    text = notes(helm4, {"emqxConfig": {"authentication": mine}, "mqttAuth": {"enabled": False}})
    assert "configures no authentication" not in text


def test_the_notes_say_how_to_read_the_credentials(helm4):
    text = notes(helm4)
    assert "get secret emqx-ee -o jsonpath='{.data.mqtt-password}' | base64 -d" in text
    assert '-u mqtt -P "$MQTT_PASSWORD"' in text


@pytest.mark.parametrize(
    "mqtt_auth, message",
    [
        ({}, "mqttAuth.enabled=auto needs the live release"),
        ({"enabled": True}, "mqttAuth.enabled with auth.generate=false (GitOps): the chart generates no MQTT user"),
    ],
    ids=["auto", "no-secret"],
)
def test_gitops_mode_needs_an_explicit_choice_and_a_users_secret(template, mqtt_auth, message):
    gitops = {
        "auth": {"generate": False, "erlangCookie": {"existingSecret": "c"}, "dashboard": {"existingSecret": "d"}},
        "apiKey": {"existingSecret": "k"},
    }
    with pytest.raises(HelmError) as caught:
        template({**gitops, "mqttAuth": mqtt_auth})
    assert message in caught.value.stderr, caught.value.stderr
    template({**gitops, "mqttAuth": {"enabled": True, "existingSecret": "m"}})
    template({**gitops, "mqttAuth": {"enabled": False}})


def test_the_field_check_would_catch_a_misspelt_authenticator_field():
    assert check_variable("EMQX_AUTHENTICATION__1__BOOTSTRAP_FLE", '"x"')
    assert check_variable("EMQX_AUTHENTICATION__1__BOOTSTRAP_TYPE", '"cleartext"')
