"""The committed EMQX schema data file (tools/emqx_schema) is the chart's appVersion, well formed, and
says what EMQX's source says about the fields the chart writes."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
CHART_YAML = ROOT / "charts" / "emqx-ee" / "Chart.yaml"
SCALAR_TYPES = {
    "boolean", "integer", "float", "number", "string", "atom", "map", "term", "tuple", "timeout", "function",
    "duration", "duration_ms", "duration_s", "timeout_duration", "timeout_duration_ms", "timeout_duration_s",
    "bytesize", "wordsize", "percent", "ip_port", "host_port", "url", "file", "secret", "qos", "cipher",
    "comma_separated_list", "comma_separated_binary", "comma_separated_atoms", "json_binary", "template",
    "template_str", "port_number", "ip_address", "ip4_address", "ip6_address", "nil",
}  # fmt: skip
FIELD_FLAGS = {"hidden", "no_doc", "deprecated"}


def app_version() -> str:
    return str(yaml.safe_load(CHART_YAML.read_text())["appVersion"])


@cache
def data() -> dict[str, Any]:
    return json.loads((ROOT / "tools" / "emqx_schema" / "data" / f"emqx-schema-{app_version()}.json").read_text())


def deref(node: dict[str, Any]) -> dict[str, Any]:
    while node["kind"] == "ref":
        node = data()["structs"][node["name"]]
    return node


def at(path: str) -> dict[str, Any]:
    """The field node at a dotted path ($name: a map's value, []: an array's item), refs followed between
    levels; the node returned keeps its own flags (hidden, aliases...)."""
    node = data()["schema"]
    for segment in path.split("."):
        node = deref(node)
        if segment.startswith("$"):
            assert node["kind"] == "map", f"{path}: {segment} is not a map level"
            node = node["value"]
        elif segment == "[]":
            assert node["kind"] == "array", f"{path}: not an array level"
            node = node["item"]
        else:
            if node["kind"] == "union":  # e.g. a listener: the struct or "marked_for_deletion"
                node = next(deref(m) for m in node["members"] if deref(m)["kind"] == "struct")
            assert node["kind"] == "struct", f"{path}: {segment} is below a {node['kind']}"
            assert segment in node["fields"], f"{path}: no field {segment}"
            node = node["fields"][segment]
    return node


def check_node(node: Any, where: str) -> None:  # noqa: C901 - one branch per node kind
    assert isinstance(node, dict) and isinstance(node.get("kind"), str), f"{where}: not a node"
    kind = node["kind"]
    extra = set(node) - {"kind"} - FIELD_FLAGS - {"aliases", "validator", "converter", "required", "has_default"}
    for flag in (FIELD_FLAGS | {"has_default"}) & set(node):
        assert node[flag] is True, f"{where}: {flag} is written only when true"
    if "required" in node:
        assert node["required"] in (True, False, "{false, recursively}"), f"{where}: required {node['required']!r}"
    if "aliases" in node:
        assert node["aliases"] and all(isinstance(a, str) for a in node["aliases"]), where
    for funs in ("validator", "converter"):
        if funs in node:
            assert node[funs] and all(re.match(r"^(fun in )?\w+:\w+/\d", f) for f in node[funs]), (where, node[funs])
    if kind == "struct":
        assert extra <= {"name", "fields"} and isinstance(node["fields"], dict), where
        for name, child in node["fields"].items():
            assert isinstance(name, str) and name, where
            check_node(child, f"{where}.{name}")
    elif kind == "ref":
        assert extra == {"name"} and node["name"] in data()["structs"], f"{where}: dangling ref {node.get('name')}"
    elif kind == "map":
        assert extra == {"key", "value"} and isinstance(node["key"], str), where
        check_node(node["value"], f"{where}.${node['key']}")
    elif kind == "array":
        assert extra == {"item"}, where
        check_node(node["item"], f"{where}.[]")
    elif kind == "union":
        assert extra == {"members"} and node["members"], where
        for i, member in enumerate(node["members"]):
            check_node(member, f"{where}|{i}")
    elif kind == "enum":
        assert extra == {"values"} and node["values"] and all(isinstance(v, str) for v in node["values"]), where
    elif kind == "scalar":
        assert extra <= {"type", "min", "max"} and re.fullmatch(r"[a-z][a-z0-9_]*", node["type"]), f"{where}: {node}"
        for bound in ("min", "max"):
            if bound in node:
                assert node["type"] == "integer" and isinstance(node[bound], int), where
    elif kind == "singleton":
        assert extra == {"value"} and isinstance(node["value"], str), where
    elif kind == "any":
        assert extra == {"why"} and node["why"], where
    else:
        pytest.fail(f"{where}: unknown kind {kind}")


def test_version_and_source_match_the_chart():
    d = data()
    assert d["emqx_version"] == app_version()
    assert re.fullmatch(r"[0-9a-f]{40}", d["source"]["commit"])
    assert d["source"]["repository"] == "emqx/emqx" and d["source"]["ref"]
    assert d["generator"] == "tools/emqx_schema"


def test_roots_are_sorted_unique_and_complete():
    roots = data()["roots"]
    assert roots == sorted(set(roots))
    assert {"node", "cluster", "listeners", "dashboard", "license", "log", "rpc", "api_key"} <= set(roots)
    assert set(roots) == set(data()["schema"]["fields"])


def test_every_node_is_well_formed():
    d = data()
    assert d["schema"]["kind"] == "struct"
    check_node(d["schema"], "schema")
    for name, struct in d["structs"].items():
        assert struct["kind"] == "struct" and struct["name"] == name
        check_node(struct, name)


def test_chart_roots_are_fully_evaluated():
    """No `any` below the roots the chart writes or documents (structs reachable from them), and only
    scalar types from the list above (other roots may also carry typerefl aliases, e.g. coap's block_size)."""
    chart_roots = (
        "node cluster listeners dashboard license log rpc api_key prometheus plugins mqtt durable_sessions "
        "authorization sysmon force_shutdown force_gc flapping_detect overload_protection"
    ).split()
    anys: list[str] = []
    odd_scalars: list[str] = []

    def walk(node: dict[str, Any], where: str, seen: set[str]) -> None:
        kind = node["kind"]
        if kind == "any":
            anys.append(f"{where}: {node['why']}")
        elif kind == "scalar" and node["type"] not in SCALAR_TYPES:
            odd_scalars.append(f"{where}: {node['type']}")
        elif kind == "ref" and node["name"] not in seen:
            seen.add(node["name"])
            walk(data()["structs"][node["name"]], where, seen)
        elif kind == "struct":
            for name, child in node["fields"].items():
                walk(child, f"{where}.{name}", seen)
        elif kind in ("map", "array"):
            walk(node.get("value") or node.get("item"), where, seen)
        elif kind == "union":
            for member in node["members"]:
                walk(member, where, seen)

    for root in chart_roots:
        assert root in data()["schema"]["fields"], root
        walk(data()["schema"]["fields"][root], root, set())
    assert not anys
    assert not odd_scalars, "scalar types the chart's checks do not know (tests/harness/emqx_config.py)"


# Facts checked in EMQX's source at the commit of the data file (apps/.../*.erl, 6.2.2).
def test_node_fields():
    # emqx_conf_schema fields("node"): {"cookie", sc(string(), #{converter => fun emqx_schema:password_converter/2,
    # validator => fun validate_cookie/1, ...})}
    assert at("node.cookie") == {
        "kind": "scalar", "type": "string", "required": True,
        "converter": ["emqx_schema:password_converter/2"], "validator": ["emqx_conf_schema:validate_cookie/1"],
    }  # fmt: skip
    # {"role", sc(hoconsc:enum(node_role_symbols()), #{aliases => [db_role]})}: [core] ++ the injection
    # point 'node.role', which emqx_enterprise_schema:injected_fields/0 fills with [replicant]
    role = at("node.role")
    assert role["kind"] == "enum" and role["values"] == ["core", "replicant"]
    assert role["aliases"] == ["db_role"]
    # {"process_limit", ...deprecated => {since, "5.1"}, importance => ?IMPORTANCE_HIDDEN}
    assert at("node.process_limit")["hidden"] and at("node.process_limit")["deprecated"]
    assert at("node.max_ports") == {
        "kind": "scalar", "type": "integer", "min": 1024, "max": 134217727, "has_default": True,
    }  # fmt: skip


def test_cluster_fields():
    # fields("cluster"): hoconsc:enum([manual, static, singleton, dns, etcd, k8s])
    strategy = at("cluster.discovery_strategy")
    assert strategy["kind"] == "enum"
    assert {"manual", "static", "dns", "etcd", "k8s"} <= set(strategy["values"])
    # fields(cluster_dns): record_type enum([a, aaaa, srv])
    assert at("cluster.dns.record_type")["values"] == ["a", "aaaa", "srv"]
    assert at("cluster.autoclean")["type"] == "duration_s"


def test_listeners():
    # emqx_schema fields("listeners"): "tcp" => map(name, union([ref("mqtt_tcp_listener"), tombstone]))
    tcp = deref(at("listeners.tcp"))
    assert tcp["kind"] == "map" and tcp["key"] == "name"
    members = [deref(m) for m in deref(tcp["value"])["members"]]
    assert {"kind": "singleton", "value": "marked_for_deletion"} in members
    listener = next(m for m in members if m["kind"] == "struct")
    assert {"bind", "enable", "proxy_protocol", "acceptors", "max_connections"} <= set(listener["fields"])
    # base_listener(Bind): {"enable", sc(boolean(), #{aliases => [enabled], importance => ?IMPORTANCE_NO_DOC})}
    assert at("listeners.tcp.$name.enable") == {
        "kind": "scalar", "type": "boolean", "aliases": ["enabled"], "no_doc": True, "has_default": True,
    }  # fmt: skip
    assert at("listeners.tcp.$name.bind")["type"] == "ip_port"
    assert at("listeners.tcp.$name.proxy_protocol")["type"] == "boolean"
    assert at("listeners.ssl.$name.ssl_options.verify")["values"] == ["verify_peer", "verify_none"]


def test_dashboard_and_license():
    # emqx_dashboard_schema: default_username(importance) -> ?IMPORTANCE_HIDDEN; default_password is not
    assert at("dashboard.default_username").get("hidden") is True
    assert "hidden" not in at("dashboard.default_password")
    assert at("license.key")["kind"] in ("scalar", "union")


def test_log_is_the_enterprise_redefinition():
    # emqx_enterprise_schema: fields("log") = emqx_conf_schema's ++ audit_log_conf()
    assert "audit" in deref(at("log"))["fields"]
    assert deref(at("log"))["name"] == "emqx_enterprise_schema:log"
    assert {"console", "file"} <= set(deref(at("log"))["fields"])


def test_validators_and_converters():
    """The `validator` and `converter` of a field schema, named where they come from; a fun made by a function is
    named by that function, with the plain terms it closes over (the bounds of a validator factory)."""
    # emqx_schema fields("mqtt"): {"max_packet_size", sc(bytesize(), #{
    #     converter => fun ?MODULE:convert_max_packet_size/2, validator => fun ?MODULE:validate_max_packet_size/1})}
    assert at("mqtt.max_packet_size")["validator"] == ["emqx_schema:validate_max_packet_size/1"]
    assert at("mqtt.max_packet_size")["converter"] == ["emqx_schema:convert_max_packet_size/2"]
    # fields("trace"): {"max_file_size", ... validator => mk_validator_bounds({100 * ?KB, "100KB"}, {10 * ?GB, "10GB"})}
    assert at("trace.max_file_size")["validator"] == [
        "fun in emqx_schema:mk_validator_bounds/2 (Lower={102400,100KB}, Upper={10737418240,10GB})"
    ]
    # ciphers_schema/1: converter => fun converter_ciphers/2 (a comma-separated string becomes a list)
    assert at("listeners.ssl.$name.ssl_options.ciphers")["converter"] == ["emqx_schema:converter_ciphers/2"]


def test_required_and_default():
    """`required` as the field schema says it (hocon_tconf.erl is_required/2: true, false or {false, recursively};
    absent when the schema does not say, which hocon reads as false at boot) and whether it has a `default`."""
    # emqx_conf_schema.erl fields("node"): "cookie" and "data_dir" are sc(..., #{required => true, ...}), no default
    for field in ("node.cookie", "node.data_dir"):
        assert at(field)["required"] is True and "has_default" not in at(field), field
    # emqx_dashboard_sso_oidc.erl fields(oidc): issuer, clientid and secret say required => true, no default;
    # emqx_dashboard_sso_schema.erl backend_schema/1: backend enum, required => true; common_backend_schema/1:
    # enable, required => false, default => false
    for field in ("issuer", "clientid", "secret", "backend"):
        node = at(f"dashboard.sso.oidc.{field}")
        assert node["required"] is True and "has_default" not in node, field
    assert at("dashboard.sso.oidc.enable")["required"] is False and at("dashboard.sso.oidc.enable")["has_default"]
    # emqx_dashboard_sso_schema.erl fields(sso): each backend is mk(hocon_ref(Module), #{required => {false,
    # recursively}})
    for backend in ("oidc", "ldap", "saml"):
        assert at(f"dashboard.sso.{backend}")["required"] == "{false, recursively}", backend
    # emqx_authn_mysql_schema.erl: a field schema given as a fun, query(required) -> true; query_timeout(default)
    # -> <<"5s">> and no required clause
    mysql = data()["structs"]["emqx_authn_mysql_schema:mysql"]["fields"]
    assert mysql["query"]["required"] is True and "has_default" not in mysql["query"]
    assert mysql["query_timeout"]["has_default"] is True and "required" not in mysql["query_timeout"]
    # emqx_schema.erl base_listener/1: "bind" is required => true with a default (the port of its type)
    assert at("listeners.tcp.$name.bind")["required"] is True and at("listeners.tcp.$name.bind")["has_default"]
