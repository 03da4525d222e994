"""emqxConfig is checked against EMQX 6.2.2's own schema at render time (files/emqx-schema.json, generated from
tools/emqx_schema/data/emqx-schema-6.2.2.json by tools/emqx_schema/roots.py): what EMQX would ignore, refuse
at boot or read differently is refused with the path named, every message at once; every valid setting renders,
and reaches EMQX as written (read back with hocon 0.45.9's rules by harness.emqx_config, an oracle independent of
the templates).

To keep the helm processes few, each table is one render: the bad values together (which also proves that every
message comes at once), the good ones together (side by side under zone or listener names where one field takes
several variants)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from typing import Any

import pytest

from harness.emqx_config import (
    LARGE_SECTIONS,
    Misparse,
    check_variable,
    parse_value,
    problems,
    resolve,
    sample_config,
    schema,
)
from harness.helm import HelmError, answer, chart_with_line, render
from harness.tools import CHART, ROOT

pytestmark = pytest.mark.unit

VERSION = schema()["emqx_version"]

# (emqxConfig key, value, what the message says after "emqxConfig.<key>"). Every class of the issue: unknown
# leaves and fields, map keys, types and ranges, deprecated fields, a misspelt listener name.
REFUSED = [
    # unknown fields, with the nearest names
    ("mqtt.max_packet_sise", "1MB", f'EMQX {VERSION} has no field "max_packet_sise" under mqtt'),
    ("log.console.levle", "debug", "nearest fields: level"),
    ("listeners.tcp.default.max_conections", 10, "nearest fields: max_connections"),
    ("mqtt.max_packet_size.x", "1MB", "mqtt.max_packet_size takes a single value (a byte size"),
    ("mqqt.max_inflight", 10, 'EMQX has no config root "mqqt"'),
    # map keys hocon's default key check refuses (^[A-Za-z0-9]+[A-Za-z0-9-_]*$)
    ("listeners.tcp.my@listener.bind", 11883, '"my@listener" is not a name EMQX takes under listeners.tcp'),
    ("zones._edge.mqtt.max_inflight", 10, '"_edge" is not a name EMQX takes under zones'),
    # a misspelt map key that would make a second listener on the default port
    ("listeners.tcp.defualt.max_connections", 10, 'a new tcp listener "defualt" with EMQX\'s default bind'),
    # types and ranges
    ("mqtt.max_packet_size", "banana", 'takes a byte size (1MB, 512KB or bytes) here, not "banana"'),
    ("mqtt.retain_available", "maybe", 'takes true or false here, not "maybe"'),
    ("mqtt.max_inflight", 70000, "takes an integer 1..65535 here, not 70000"),
    ("mqtt.max_clientid_len", 22, "takes an integer 23..65535 here, not 22"),
    ("mqtt.max_qos_allowed", 3, "takes an integer 0..2 here, not 3"),
    ("log.console.level", "verbose", "takes one of debug, info, notice"),
    ("mqtt.idle_timeout", "15 seconds", "takes infinity or a duration (30s, 1h30m, 500ms or milliseconds) here"),
    ("mqtt.max_mqueue_len", "lots", "an integer 0.. or infinity"),
    ("mqtt.mqueue_priorities", "t/1", 'takes disabled or an object here, not "t/1"'),
    ("mqtt.response_information", 5, "takes text here, not 5 (quote it in the values to pass it as text)"),
    ("sysmon.os.cpu_high_watermark", "120%", 'takes a percentage (80%) here, not "120%"'),
    ("sysmon.os.mem_check_interval", "2 minutes", "a duration"),
    ("force_shutdown.max_heap_size", "32 MB", "a byte size"),
    ("listeners.tcp.default.bytes_rate", "banana", "takes a rate (1000/s, 10MB/s, 100/10s or infinity)"),
    ("listeners.tcp.default.messages_rate", "0/s", "takes a rate"),
    ("listeners.tcp.default.messages_rate", 1000, "not 1000 (quote it in the values to pass it as text)"),
    ("listeners.tcp.default.bytes_burst", "infinity", "takes a burst (100/s, 1MB/10s or 0)"),
    ("listeners.tcp.internal.bind", "localhost:1883", "takes a port or address:port"),
    ("listeners.tcp.other.bind", 70000, "takes a port or address:port"),
    ("listeners.tcp.default.enable_authn", "maybe", "takes one of true, false, quick_deny_anonymous"),
    ("authorization.sources", [{"type": "file", "paht": "/x"}], 'has no field "paht" under authorization.sources[0]'),
    ("authorization.sources", [{"type": "fiel"}], "authorization.sources[0].type: EMQX"),
    # deprecated fields: EMQX deletes them unchecked (hocon_tconf), so they would do nothing
    ("node.process_limit", 1000000, "node.process_limit is deprecated in EMQX"),
    ("durable_sessions.heartbeat_interval", "5s", "durable_sessions.heartbeat_interval is deprecated"),
    ("dashboard.listeners.http.enable", True, "dashboard.listeners.http.enable is deprecated"),
    # strings no variable can carry as written
    ("mqtt.response_information", "nul\x00byte", "holds a NUL character"),
    ("listeners.tcp.default.mountpoint", 'a\u2028b"', "holds a line separator (U+2028 or U+2029)"),
]


def _refusal(helm, rows: list[tuple[str, Any, str]]) -> str:
    with pytest.raises(HelmError) as caught:
        render(helm, {"emqxConfig": {key: value for key, value, _ in rows}})
    return caught.value.stderr


def _once(key: str) -> bool:
    return sum(k == key for k, _, _ in REFUSED) == 1


@pytest.fixture(scope="module")
def refused(helm4) -> str:
    """One render of every row whose key is in the table once (the others render alone)."""
    return _refusal(helm4, [row for row in REFUSED if _once(row[0])])


@pytest.mark.parametrize("key, value, says", REFUSED, ids=lambda x: x if isinstance(x, str) else json.dumps(x))
def test_emqx_config_emqx_would_not_read_as_written_is_refused_with_its_path(helm4, refused, key, value, says):
    said = refused if _once(key) else _refusal(helm4, [(key, value, says)])
    named = [line for line in said.splitlines() if _names(line, key)]
    assert named, f"no message names emqxConfig.{key}:\n{said}"
    assert any(says in line for line in named), f"no message on {key}={value!r} says {says!r}:\n{said}"


def _names(line: str, key: str) -> bool:
    """Whether a message is about `key`: it starts with emqxConfig.<path>, path a prefix of the key (a refusal
    names the part that is wrong) or the key with a list index."""
    named = re.match(r"emqxConfig\.([^:\s]+)", line)
    path = re.sub(r"\[\d+\]", "", named.group(1)) if named else None
    return bool(path) and (key == path or key.startswith(path + ".") or path.startswith(key + "."))


def test_every_refusal_comes_in_one_failure(refused):
    rows = [row for row in REFUSED if _once(row[0])]
    messages = [line for line in refused.splitlines() if line.startswith("emqxConfig.")]
    assert len(messages) == len(rows), refused


def test_helm_3_refuses_the_same_values(helm):
    rows = [r for r in REFUSED if r[0] in ("mqtt.max_inflight", "log.console.levle", "node.process_limit")]
    said = _refusal(helm, rows)
    for _, _, says in rows:
        assert says in said, said


def test_helm_lint_shows_the_same_messages(helm, tmp_path):
    """helm lint runs the templates in lint mode, where `fail` only logs (Helm's engine: "[INFO] Fail" in Helm 3,
    "funcMap fail" in Helm 4) and the lint passes: it shows every message, and helm install, upgrade and template
    refuse. values.schema.json does not carry the EMQX schema (docs/emqx-schema.md says why)."""
    values = tmp_path / "values.yaml"
    values.write_text(json.dumps({"emqxConfig": {"mqtt.max_packet_sise": "1MB", "mqtt.max_inflight": 70000}}))
    code, stdout, stderr = answer([helm.path, "lint", "--strict", str(CHART), "-f", str(values)])
    said = (stdout + stderr).replace('\\"', '"')
    assert code == 0, said
    assert 'emqxConfig.mqtt.max_packet_sise: EMQX 6.2.2 has no field "max_packet_sise"' in said, said
    assert "emqxConfig.mqtt.max_inflight: EMQX 6.2.2 takes an integer 1..65535 here, not 70000" in said, said


def test_a_setting_given_twice_is_refused(template):
    with pytest.raises(HelmError, match=r"emqxConfig.mqtt.max_inflight is given twice"):
        template({"emqxConfig": {"mqtt.max_inflight": 10, "mqtt": {"max_inflight": 20}}})


# (emqxConfig key, value): every valid variant of each class above. Keys repeat under zones.<name> or
# listeners.tcp.<name> (each with its own bind) so that the whole table is one render.
ACCEPTED = {
    "mqtt.max_packet_size": "1MB",
    "zones.a.mqtt.max_packet_size": 1048576,
    "zones.b.mqtt.max_packet_size": "512KB",
    "mqtt.retain_available": False,
    "zones.a.mqtt.retain_available": "true",
    "mqtt.max_inflight": 65535,
    "zones.a.mqtt.max_inflight": "100",
    "mqtt.idle_timeout": "15s",
    "zones.a.mqtt.idle_timeout": "infinity",
    "zones.b.mqtt.idle_timeout": "1h30m",
    "zones.c.mqtt.idle_timeout": 15000,
    "mqtt.max_mqueue_len": "infinity",
    "zones.a.mqtt.max_mqueue_len": 1000,
    "mqtt.mqueue_priorities": {"t/1": 10, "sensors/+/temp.c": 5},
    "zones.a.mqtt.mqueue_priorities": "disabled",
    "mqtt.max_qos_allowed": 2,
    "mqtt.peer_cert_as_username": "cn",
    "mqtt.client_attrs_init": [{"expression": "regex_extract(clientid, '^(.+)&<x>$')", "set_as_attr": "group"}],
    "log.console.level": "warning",
    "sysmon.os.cpu_high_watermark": "80%",
    "sysmon.os.cpu_low_watermark": 0.6,
    "sysmon.os.mem_check_interval": "60s",
    "listeners.tcp.default.bytes_rate": "10MB/s",
    "listeners.tcp.default.messages_rate": "infinity",
    "listeners.tcp.default.max_conn_rate": "1000",
    "listeners.tcp.default.bytes_burst": "0",
    "listeners.tcp.default.messages_burst": "100/10s",
    "listeners.tcp.default.enable_authn": True,
    "listeners.tcp.default.max_connections": "infinity",
    "listeners.tcp.internal.bind": "0.0.0.0:11883",
    "listeners.tcp.internal.enable_authn": "quick_deny_anonymous",
    "listeners.tcp.my-listener.bind": 11884,
    "listeners.tcp.v6.bind": "[::]:11885",
    "listeners.tcp.off.enable": False,  # a disabled listener needs no bind of its own
    "listeners.tcp.default.access_rules": ["allow all"],
    "authorization.sources": [{"type": "file", "enable": True, "path": "/opt/emqx/etc/acl.conf"}],
    "retainer.delivery_rate": "1000/s",
    "retainer.max_publish_rate": "infinity",
    "durable_sessions.enable": False,
    "cluster.autoclean": "24h",
    "zones.edge.mqtt.max_inflight": 10,
}


@pytest.fixture(scope="module")
def accepted(helm4):
    return render(helm4, {"emqxConfig": ACCEPTED})


def _as_read(want: Any) -> Any:
    """A value as harness.emqx_config.parse_value hands it back: scalars as their text, lists and maps as data."""
    if isinstance(want, bool):
        return "true" if want else "false"
    if isinstance(want, int | float):
        return str(want)
    return want


@pytest.mark.parametrize("key", ACCEPTED)
def test_valid_emqx_config_renders_and_emqx_reads_it_as_written(accepted, key):
    name = "EMQX_" + key.replace(".", "__").upper()
    text = accepted.settings()[name]
    assert check_variable(name, text) == [], (name, text)
    assert parse_value(text).data == _as_read(ACCEPTED[key]), (name, text)


def test_every_variable_of_the_valid_table_passes_the_schema_check(accepted):
    found = problems(accepted)
    assert not found, "\n".join(found)


# Every scalar field of these sections, with a valid value of its type (harness.emqx_config.sample_config): the
# large emqxConfig, about 190 settings, that also feeds the render benchmark (docs/emqx-schema.md).
LARGE = LARGE_SECTIONS


def test_every_field_of_the_main_sections_renders_with_a_valid_value(template):
    config = sample_config(LARGE)
    assert len(config) > 150, len(config)
    m = template({"emqxConfig": config})
    settings = m.settings()
    missing = [k for k in config if "EMQX_" + k.replace(".", "__").upper() not in settings]
    assert not missing, missing
    found = problems(m)
    assert not found, "\n".join(found)


# Strings that HOCON would read as something else, or that JSON escapes and hocon does not unescape; written to a
# string field and to a list of strings, each must come back as the very same text.
TRICKY = [
    "<a>&b", "x & y", "a<b", "007", "+5", "-3", "1.50", ".5", "1e5", "true", "false", "null", "include", "on",
    "yes", "NaN", '"quoted"', "'single'", "tab\there", "line\nbreak", "cr\rreturn", "bell\x07", "\x1b[31mred",
    "\x01\x02\x1f", "back\\slash", "ends\\", "\\u003c", "\\n literal", "#hash", "a//b", "${HOME}", "", " lead",
    "trail ", "a\u2028b", "\u2029para", 'sep\u2028with "" quotes', "emoji 🎉", "ünïcødé", "日本語", "a" * 20000,
    "0.0.0.0:1883", "15s", "1MB", "80%", "a=b", "{x}", "[y]", "a,b", "~tilde",
]  # fmt: skip


@pytest.fixture(scope="module")
def tricky(helm4):
    config = {f"zones.t{i}.mqtt.response_information": text for i, text in enumerate(TRICKY)}
    config["dashboard.sso.oidc.scopes"] = TRICKY  # a list of strings that no validator reads
    # what EMQX requires of an OIDC backend (emqx_dashboard_sso_oidc.erl fields(oidc)), the secret from a Secret
    config["dashboard.sso.oidc"] = {"backend": "oidc", "clientid": "emqx", "issuer": "https://idp.example.com"}
    secret = {"name": "EMQX_DASHBOARD__SSO__OIDC__SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}
    return render(helm4, {"emqxConfig": config, "extraEnv": [secret]}).settings()


@pytest.mark.parametrize("i", range(len(TRICKY)), ids=lambda i: json.dumps(TRICKY[i][:24]))
def test_a_tricky_string_reaches_emqx_as_written(tricky, i):
    text = tricky[f"EMQX_ZONES__T{i}__MQTT__RESPONSE_INFORMATION"]
    value = parse_value(text)
    assert value.kind in ("string", "unquoted", "raw", "bytesize", "duration", "percent"), (text, value)
    assert value.data == TRICKY[i], (text, value)


def test_a_list_of_tricky_strings_reaches_emqx_as_written(tricky):
    value = parse_value(tricky["EMQX_DASHBOARD__SSO__OIDC__SCOPES"])
    assert value.kind == "array" and value.data == TRICKY


def test_helm_3_writes_the_same_settings(other_helm, helm4):
    config = {**ACCEPTED, **{f"zones.t{i}.mqtt.response_information": text for i, text in enumerate(TRICKY)}}
    want = render(helm4, {"emqxConfig": config}).settings()
    assert render(other_helm, {"emqxConfig": config}).settings() == want


def test_numbers_and_booleans_stay_typed(template):
    """Typed in YAML, written bare: HOCON reads a number or boolean back (floats in plain decimals, whole numbers
    as integers, as YAML hands every number over as a float)."""
    priorities = {"a": 5, "b": 0.5, "c": True, "d": 1.5e-7, "e": 123456789.5, "f": -2.25, "g": 10.0}
    config = {
        "mqtt.mqueue_priorities": priorities,
        "mqtt.max_inflight": 5,
        "sysmon.os.cpu_low_watermark": 0.6,
        "mqtt.retain_available": False,
    }
    settings = template({"emqxConfig": config}).settings()
    text = settings["EMQX_MQTT__MQUEUE_PRIORITIES"]
    assert parse_value(text).data == priorities and "e-" not in text and "e+" not in text, text
    assert parse_value(settings["EMQX_MQTT__MAX_INFLIGHT"]).kind == "integer"
    assert parse_value(settings["EMQX_SYSMON__OS__CPU_LOW_WATERMARK"]).kind == "float"
    assert parse_value(settings["EMQX_MQTT__RETAIN_AVAILABLE"]).kind == "bool"


def test_the_hocon_reader_refuses_what_hocon_keeps_literally():
    """The harness reads values with hocon 0.45.9's rules: a \\u escape is kept as six characters, so a value
    holding one is a misparse (this is what toJson's escaping of <, > and & did)."""
    for text in ('"\\u003ca"', '["x\\u0026y"]', '{"k":"\\u003e"}'):
        with pytest.raises(Misparse, match="no \\\\u escape"):
            parse_value(text)
    assert parse_value('"a\\\\u003c"').data == "a\\u003c"  # an escaped backslash, then plain text
    assert parse_value('"""a\u2028b"""').data == "a\u2028b"  # triple quotes: raw, no escapes


@pytest.mark.parametrize(
    "tag, says",
    [("6.3.0", "image.tag is 6.3.0"), ("latest", "image.tag is latest"), (VERSION, None), ("v" + VERSION, None)],
)
def test_a_refusal_under_another_emqx_release_says_the_checks_are_the_charts(template, tag, says):
    with pytest.raises(HelmError) as caught:
        template({"image": {"tag": tag}, "emqxConfig": {"mqtt.max_packet_sise": "1MB"}})
    said = caught.value.stderr
    if says:
        assert f"these checks are EMQX {VERSION}'s" in said and says in said, said
        assert "--set emqxConfigCheck.allowUnknown=true" in said, said
    else:
        assert "these checks are" not in said, said


def test_allow_unknown_lets_newer_settings_through_and_keeps_the_rest(template):
    config = {"mqtt.new_in_6_3": "on", "mqtt.max_inflight": 70000, "mqtt": {"future": {"x": "a<b"}}}
    m = template({"image": {"tag": "6.3.0"}, "emqxConfigCheck": {"allowUnknown": True}, "emqxConfig": config})
    settings = m.settings()
    assert settings["EMQX_MQTT__NEW_IN_6_3"] == "on"
    assert settings["EMQX_MQTT__MAX_INFLIGHT"] == "70000"
    assert parse_value(settings["EMQX_MQTT__FUTURE__X"]).data == "a<b"
    with pytest.raises(HelmError, match="cannot be set here"):
        template({"emqxConfigCheck": {"allowUnknown": True}, "emqxConfig": {"node.cookie": "x"}})
    with pytest.raises(HelmError, match="capital letters"):
        template({"emqxConfigCheck": {"allowUnknown": True}, "emqxConfig": {"mqtt.Future": 1}})


# Mutations of the type checks in _env.tpl (emqx-ee.schemaAccepts): with one removed, a value of the table above
# renders, so the refusal tests would fail.
MUTATIONS = [
    ('(has $text (list "true" "false"))) -}}', "mqtt.retain_available", "maybe"),
    ('{{- $ok = and (or (kindIs "invalid" $lo)', "mqtt.max_inflight", 70000),
    ("(regexMatch `^([0-9.]+(ms|MS|[fFwWdDhHmMsS]))+$`", "mqtt.idle_timeout", "15 seconds"),
    ("(regexMatch `^\\s*[0-9]+(b|B|kb", "listeners.tcp.default.tcp_options.buffer", "banana"),
    ('{{- $ok = le (trimSuffix "%" $text | float64) 100.0 -}}', "sysmon.os.cpu_high_watermark", "120%"),
    ('(ne $port "")', "listeners.tcp.internal.bind", "localhost:1883"),
    ('{{- $ok = or (eq $rate "infinity")', "listeners.tcp.default.bytes_rate", "banana"),
    ("(has $text $t.e)", "log.console.level", "verbose"),
    ('{{- $ok = eq $vk "string" -}}', "mqtt.response_information", 5),
]


@pytest.mark.parametrize("line, key, value", MUTATIONS, ids=[m[1] for m in MUTATIONS])
def test_removing_a_type_check_lets_a_bad_value_through(helm4, tmp_path, line, key, value):
    chart = chart_with_line(tmp_path, "templates/_env.tpl", line, "{{- $ok = true -}}")
    with pytest.raises(HelmError):
        render(helm4, {"emqxConfig": {key: value}})
    render(helm4, {"emqxConfig": {key: value}}, chart=chart)


@pytest.mark.parametrize(
    "name, broken",
    [("emqx-schema.json", "not json"), ("emqx-checks.tpl", "{{ not a template")],
    ids=["compact schema", "checks"],
)
def test_the_default_render_never_reads_the_schema_or_the_checks(helm4, tmp_path, name, broken):
    """The compact schema and files/emqx-checks.tpl are read only when emqxConfig is set: with either broken,
    the default values still render (so they pay nothing for it), and a render with emqxConfig fails."""
    chart = tmp_path / "emqx-ee"
    shutil.copytree(CHART, chart)
    (chart / "files" / name).write_text(broken)
    render(helm4, {}, chart=chart)
    with pytest.raises(HelmError):
        render(helm4, {"emqxConfig": {"log.console.level": "debug"}}, chart=chart)


def test_the_compact_schema_is_the_data_file_s():
    """tools/emqx_schema/roots.py --check: the chart's compact schema (and roots) are what the data file generates;
    the compact form has the same field names as the data file for every struct it reaches."""
    roots = ROOT / "tools" / "emqx_schema" / "roots.py"
    result = subprocess.run([sys.executable, str(roots), "--check"], capture_output=True)
    assert result.returncode == 0, result.stderr.decode()
    text = (CHART / "files" / "emqx-schema.json").read_text()
    compact = json.loads(re.search(r'^\{".*\}$', text, re.M).group(0))
    assert compact["v"] == VERSION
    data = schema()
    structs = compact["s"]
    assert set(structs[0]) == set(data["roots"])
    for path in ("mqtt", "log.console", "listeners.tcp.x", "authorization", "zones.z.mqtt", "retainer"):
        want = set()
        for node in resolve(path.split("."), data):
            for alt in _struct_alternatives(node, data):
                want |= set(alt["fields"]) | {a for f in alt["fields"].values() for a in f.get("aliases", [])}
        got = set()
        for index in _compact_path(structs, path.split(".")):
            got |= set(structs[index])
        assert got == want, (path, got ^ want)
    assert len(text.encode()) < 160_000, "the compact schema grew: measure the render cost again (docs/emqx-schema.md)"


def _struct_alternatives(node, data):
    from harness.emqx_config import _alternatives

    return [n for n in _alternatives(node, data) if n["kind"] == "struct"]


def _compact_path(structs: list[dict[str, Any]], path: list[str]) -> list[int]:
    """The struct indexes a path reaches in the compact schema (unions, maps and deprecated wrappers followed)."""
    level: list[Any] = [0]
    for segment in path:
        following = []
        work = list(level)
        while work:
            t = work.pop()
            if isinstance(t, dict) and "u" in t:
                work.extend(t["u"])
            elif isinstance(t, int) and segment in structs[t]:
                following.append(structs[t][segment])
            elif isinstance(t, dict) and "m" in t:
                following.append(t["m"])
        level = following
    out, work = [], list(level)
    while work:
        t = work.pop()
        if isinstance(t, dict) and "u" in t:
            work.extend(t["u"])
        elif isinstance(t, int):
            out.append(t)
    return out
