"""The bootstrap API key: EMQX creates it at boot from api_key.bootstrap_file (lines key:secret:role, read on
core nodes: apps/emqx_management/src/emqx_mgmt_auth.erl). Generated once and kept like the cookie, or
from an existing Secret; mounted as a read-only file, never in a ConfigMap."""

import base64

import pytest

from harness.helm import HelmError
from harness.query import jp1, jp_all

pytestmark = pytest.mark.unit

CHECKSUM = "$.spec.template.metadata.annotations['checksum/api-key']"


def bootstrap(m):
    return base64.b64decode(m.one("Secret", "emqx-ee")["data"]["api-key-bootstrap"]).decode()


def test_generated_key_is_one_bootstrap_line(template):
    m = template()
    key, secret, role = bootstrap(m).rstrip("\n").split(":")
    assert (key, role) == ("emqx-ee-helm", "viewer")
    assert len(secret) == 40 and secret.isalnum()
    assert base64.b64decode(m.one("Secret", "emqx-ee")["data"]["api-key-secret"]).decode() == secret


def test_nodes_read_the_file_emqx_is_told_about(template):
    m = template()
    path = m.settings()["EMQX_API_KEY__BOOTSTRAP_FILE"]
    assert path == '"/opt/emqx/etc/api-key/bootstrap.txt"', "quoted: HOCON reads an unquoted / badly"
    spec = m.statefulset["spec"]["template"]["spec"]
    mount = jp1(spec, "$.containers[?name='emqx'].volumeMounts[?name='api-key']")
    assert mount == {"name": "api-key", "mountPath": "/opt/emqx/etc/api-key", "readOnly": True}
    volume = jp1(spec, "$.volumes[?name='api-key'].secret")
    assert volume["secretName"] == "emqx-ee"
    assert volume["items"] == [{"key": "api-key-bootstrap", "path": "bootstrap.txt"}]


def test_key_and_role_are_values(template):
    m = template({"apiKey": {"key": "ops", "role": "administrator"}})
    assert bootstrap(m).startswith("ops:") and bootstrap(m).endswith(":administrator\n")


def test_existing_secret_replaces_the_generated_key(template):
    m = template({"apiKey": {"existingSecret": "vault-keys", "existingSecretKey": "emqx.txt"}})
    assert "api-key-bootstrap" not in m.one("Secret", "emqx-ee")["data"]
    volume = jp1(m.statefulset, "$.spec.template.spec.volumes[?name='api-key'].secret")
    assert (volume["secretName"], volume["items"][0]["key"]) == ("vault-keys", "emqx.txt")
    assert not jp_all(m.statefulset, CHECKSUM), "the chart cannot see a change in the user's Secret"


def test_disabled_means_no_file_no_setting(template):
    m = template({"apiKey": {"enabled": False}, "tests": {"enabled": False}})
    assert "EMQX_API_KEY__BOOTSTRAP_FILE" not in m.settings()
    assert not jp_all(m.statefulset, "$.spec.template.spec.volumes[?name='api-key']")
    assert "api-key-bootstrap" not in m.one("Secret", "emqx-ee")["data"]


def test_a_new_name_or_role_rolls_the_nodes(template):
    base = jp1(template().statefulset, CHECKSUM)
    assert jp1(template({"apiKey": {"role": "publisher"}}).statefulset, CHECKSUM) != base
    assert jp1(template({"apiKey": {"key": "other"}}).statefulset, CHECKSUM) != base
    assert jp1(template({"replicaCount": 1}).statefulset, CHECKSUM) == base


@pytest.mark.parametrize(
    "values, names",
    [
        ({"apiKey": {"role": "root"}}, "apiKey.role"),
        ({"apiKey": {"key": "has:colon"}}, "apiKey.key"),
        (
            {
                "auth": {
                    "generate": False,
                    "erlangCookie": {"existingSecret": "c"},
                    "dashboard": {"existingSecret": "d"},
                }
            },
            "apiKey",
        ),  # fmt: skip
        ({"emqxConfig": {"api_key.bootstrap_file": "/x"}}, "apiKey.existingSecret"),
    ],
)
def test_bad_api_key_values_are_refused(template, values, names):
    with pytest.raises(HelmError) as caught:
        template(values)
    said = caught.value.stderr
    assert names in said or "/" + names.replace(".", "/") in said, said
