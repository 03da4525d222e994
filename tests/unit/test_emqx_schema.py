"""What the chart tells EMQX, checked against EMQX's own schema (tools/emqx_schema/data/emqx-schema-<appVersion>.json,
generated from EMQX's source by tools/emqx_schema): every EMQX_* variable of every scenario names a
path EMQX knows and carries a value of its type that HOCON reads as written (harness.emqx_config)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest

from harness.emqx_config import START_SCRIPT_VARS, Misparse, check_variable, parse_value, problems, resolve, schema
from harness.helm import HelmError, render
from harness.tools import CHART, ROOT

pytestmark = pytest.mark.unit

# Values that switch on what no ci/ scenario holds, so that every setting the chart can write is checked.
FEATURES = {
    "mutual-tls-and-moved-ports": {
        "tls": {"enabled": True, "existingSecret": "t", "verifyClients": True, "dashboard": True},
        "listeners": {"mqtts": {"containerPort": 18883}, "wss": {"containerPort": 18084}},
        "dashboard": {"containerPort": 28083},
    },
    "proxy-protocol-and-disabled-listeners": {
        "service": {"type": "LoadBalancer"},
        "listeners": {"mqtt": {"proxyProtocol": True}, "ws": {"enabled": False}, "wss": {"enabled": False}},
    },
    "user-settings": {
        "emqxConfig": {
            "log.console.level": "warning",
            "mqtt": {"max_packet_size": "1MB", "retry_interval": "30s"},
            "listeners.tcp.default.max_connections": 5000000,
        }
    },
}


def test_every_variable_of_every_scenario_is_one_emqx_reads(helm4, scenario):
    found = problems(render(helm4, scenario.values))
    assert not found, "\n".join(found)


@pytest.mark.parametrize("name", FEATURES)
def test_every_variable_of_each_feature_is_one_emqx_reads(helm4, name):
    found = problems(render(helm4, FEATURES[name]))
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    "name, text, says",
    [
        ("EMQX_LISENTERS__TCP__DEFAULT__BIND", '"0.0.0.0:1883"', "no config root 'lisenters'"),
        ("EMQX_LISTENERS__TCP__DEFAULT__BINDD", '"0.0.0.0:1883"', "listeners.tcp.default.bindd is not in"),
        ("EMQX_CLUSTER__DISCOVERY_STRATEGY", "srv", "one of"),
        ("EMQX_CLUSTER__DNS__RECORD_TYPE", "SRV", "one of"),
        ("EMQX_NODE__ROLE", "replica", "one of core, replicant"),
        ("EMQX_LISTENERS__TCP__DEFAULT__ENABLE", "yes", "boolean"),
        ("EMQX_LISTENERS__TCP__DEFAULT__BIND", "0.0.0.0:1883", "not one HOCON value"),
        ("EMQX_DASHBOARD__DEFAULT_USERNAME", "ops#1", "comment"),
        ("EMQX_LOG__CONSOLE__LEVEL", "${LEVEL}", "substitution"),
        ("EMQX_NAMEX", "emqx", "no config root 'namex'"),
        ("EMQX_SECURITY_PROFILE", "Hardened", "EMQX would stop"),  # emqx_security_profile cache_profile/0
    ],
)
def test_the_check_refuses_what_emqx_would_ignore_or_misread(name, text, says):
    found = check_variable(name, text)
    assert found and says in found[0], found


@pytest.mark.parametrize(
    "name, text",
    [
        ("EMQX_LISTENERS__TCP__INTERNAL__BIND", '"0.0.0.0:11883"'),  # a map level takes any listener name
        ("EMQX_CLUSTER__STATIC__SEEDS", '["emqx@a.b.svc.cluster.local"]'),
        ("EMQX_PLUGINS__INSTALL_DIR", "/opt/emqx/data/plugins"),  # HOCON cannot scan it, so EMQX takes it as is
        ("EMQX_NAME", "emqx"),  # read by the start scripts, not the config loader
        ("EMQX_SECURITY_PROFILE", "hardened"),  # read with os:getenv, not the config loader
    ],
)
def test_the_check_accepts_what_emqx_reads(name, text):
    assert check_variable(name, text) == []


def test_start_script_variables_are_not_config_paths():
    """The allowlist holds only names that are no config root, so nothing the loader reads hides in it."""
    for name in START_SCRIPT_VARS:
        root = name.removeprefix("EMQX_").lower().split("__")[0]
        assert root not in schema()["roots"], name


@pytest.mark.parametrize(
    "file, old, new, variable",
    [
        (
            "_env.tpl",
            '"EMQX_CLUSTER__DNS__RECORD_TYPE" "srv"',
            '"EMQX_CLUSTER__DNS__RECORDTYPE" "srv"',
            "RECORDTYPE",
        ),
        (
            "_env.tpl",
            '"EMQX_CLUSTER__DNS__RECORD_TYPE" "srv"',
            '"EMQX_CLUSTER__DNS__RECORD_TYPE" "srvx"',
            "RECORD_TYPE",
        ),
        (
            "_env.tpl",
            '"EMQX_CLUSTER__K8S__ADDRESS_TYPE" "hostname"',
            '"EMQX_CLUSTER__K8S__ADDRESS_TYPE" "fqdn"',
            "ADDRESS_TYPE",
        ),  # fmt: skip
        ("_env.tpl", '"EMQX_NODE__ROLE" "value" "replicant"', '"EMQX_NODE__ROLE" "value" "replica"', "NODE__ROLE"),
        (
            "_env.tpl",
            '(printf "%sVERIFY" $prefix) "verify_peer"',
            '(printf "%sVERIFY" $prefix) "verify-peer"',
            "VERIFY",
        ),  # fmt: skip
        ("_env.tpl", '"EMQX_PLUGINS__INSTALL_DIR"', '"EMQX_PLUGIN__INSTALL_DIR"', "PLUGIN__INSTALL_DIR"),
        (
            "_env.tpl",
            'printf "%sPROXY_PROTOCOL" $prefix) "true"',
            'printf "%sPROXY_PROTOCOL" $prefix) "on"',
            "PROXY_PROTOCOL",
        ),  # fmt: skip
    ],
)
def test_breaking_a_setting_name_or_enum_in_a_template_fails_the_check(helm4, tmp_path, file, old, new, variable):
    chart = tmp_path / "emqx-ee"
    shutil.copytree(CHART, chart)
    template = chart / "templates" / file
    text = template.read_text()
    assert old in text, f"the mutation no longer applies to {file}: update this test"
    template.write_text(text.replace(old, new))
    values = {
        "discovery": "k8s" if "K8S" in old else "dns",
        "replicants": {"enabled": True},
        "license": {"key": "evaluation"},
        "tls": {"enabled": True, "existingSecret": "t", "verifyClients": True},
        "listeners": {"mqtt": {"proxyProtocol": True}},
        "service": {"type": "LoadBalancer"},
    }
    assert not problems(render(helm4, values)), "the unmutated chart passes"
    found = problems(render(helm4, values, chart=chart))
    assert any(variable in p for p in found), found


def test_the_chart_holds_emqx_config_roots_of_the_data_file():
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "emqx_schema" / "roots.py"), "--check"], capture_output=True
    )
    assert result.returncode == 0, result.stderr.decode()
    text = (CHART / "files" / "emqx-schema.json").read_text()
    roots = sorted(json.loads(re.search(r'^\{".*\}$', text, re.M).group(0))["s"][0])
    assert roots == sorted(schema()["roots"]) and {"node", "listeners", "mqtt"} <= set(roots)


@pytest.mark.parametrize(
    "key, nearest",
    [("lisenters.tcp.default.max_connections", "listeners"), ("mqqt.max_packet_size", "mqtt"), ("nod.x", "node")],
)
def test_an_unknown_root_is_refused_with_the_nearest_ones(template, key, nearest):
    with pytest.raises(HelmError) as caught:
        template({"emqxConfig": {key: "1"}})
    said = caught.value.stderr
    root = key.split(".")[0]
    assert f'emqxConfig.{key}: EMQX has no config root "{root}"' in said, said
    assert re.search(rf"nearest roots: [^\n]*\b{nearest}\b", said), said


@pytest.mark.parametrize(
    "key, says",
    [
        ("listeners.tcp.Internal.bind", 'variable names it reads, so it would set "listeners.tcp.internal.bind"'),
        ("log.console__level", "is not an EMQX config path"),
    ],
)  # fmt: skip
def test_keys_emqx_could_never_read_are_refused(template, key, says):
    with pytest.raises(HelmError, match=re.escape(says)):
        template({"emqxConfig": {key: "x"}})


NASTY = ["tenant#1/", "a//b", "${HOME}/x", "0.0.0.0:1883", "two words", 'say "hi"', "back\\slash", "", "include",
         "ünïcødé", "tab\there", "line\nbreak", "/abs/path", "[not json"]  # fmt: skip


@pytest.mark.parametrize("text", NASTY, ids=lambda t: json.dumps(t))
def test_strings_the_chart_writes_reach_emqx_as_written(template, text):
    """A string in emqxConfig is written so that HOCON reads back exactly that string."""
    written = template({"emqxConfig": {"rpc.certfile": text}}).settings()
    value = parse_value(written["EMQX_RPC__CERTFILE"])
    assert value.data == text and value.kind in ("string", "unquoted", "raw"), (written, value)


def test_plain_words_stay_unquoted(template):
    data = template({"emqxConfig": {"log.console.level": "warning", "mqtt.idle_timeout": "15s"}}).settings()
    assert (data["EMQX_LOG__CONSOLE__LEVEL"], data["EMQX_MQTT__IDLE_TIMEOUT"]) == ("warning", "15s")


def test_misparse_detection_matches_hocon_on_known_cases():
    """Cases whose HOCON reading is documented: a comment cuts, a quoted string is literal, JSON is kept."""
    with pytest.raises(Misparse):
        parse_value("tenant#1")
    assert parse_value('"tenant#1"').data == "tenant#1"
    assert parse_value('["a","b"]').data == ["a", "b"]
    assert parse_value("30s").kind == "duration" and parse_value("true").kind == "bool"


def test_resolve_follows_maps_and_unions():
    assert resolve(["listeners", "tcp", "any_name", "bind"])
    assert not resolve(["listeners", "tcp", "any_name", "no_such_field"])
