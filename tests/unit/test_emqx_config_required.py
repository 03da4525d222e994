"""A struct that emqxConfig gives a value must carry every field EMQX 6.2.2 requires there, or EMQX refuses the
config at boot (hocon_tconf.erl: a field with `required => true` and no default, validate/5 and do_map/4). The
chart refuses such a struct at render, naming its path and every missing field, all structs in one failure
(emqx-ee.requiredChecks in files/emqx-checks.tpl, from "q" of the compact schema).

The fields expected below are read from the schema data file (tools/emqx_schema/data), the input of the chart's
compact schema, never from a render."""

from __future__ import annotations

import json
import re
import shutil
from functools import reduce
from typing import Any

import pytest

from harness.emqx_config import resolve, schema
from harness.helm import HelmError, chart_with_line, render
from harness.tools import CHART

pytestmark = pytest.mark.unit

VERSION = schema()["emqx_version"]


def required(struct: str) -> set[str]:
    """The fields the data file marks required with no default in a struct (deprecated ones are deleted
    unchecked)."""
    fields = schema()["structs"][struct]["fields"]
    return {
        name
        for name, node in fields.items()
        if node.get("required") is True and not node.get("has_default") and not node.get("deprecated")
    }


def struct_at(path: str) -> str:
    """The one struct the data file has at a dotted path (map keys and list indexes as segments)."""
    names = set()
    for node in resolve(path.split(".")):
        stack = [node]
        while stack:
            n = stack.pop()
            if n["kind"] == "ref":
                names.add(n["name"])
            elif n["kind"] == "union":
                stack += n["members"]
    assert len(names) == 1, (path, names)
    return names.pop()


def missing(stderr: str, path: str) -> set[str]:
    """The fields the chart's message for `path` names as missing (none when it says nothing of the path)."""
    pattern = rf"^emqxConfig\.{re.escape(path)}: EMQX {re.escape(VERSION)} requires (.+?) under {re.escape(path)} "
    found = re.findall(pattern, stderr, re.M)
    assert len(found) <= 1, (path, found)
    return set(found[0].split(", ")) if found else set()


# Structs given a value with fields EMQX requires left out: (emqxConfig key, value, path of the struct, the
# struct's name in the data file, the fields set there).
REFUSED = [
    # a struct below a struct, by a dotted key
    ("dashboard.sso.oidc.enable", True, "dashboard.sso.oidc", "emqx_dashboard_sso_oidc:oidc", {"enable"}),
    # a map entry
    ("connectors.http.c1.enable", False, "connectors.http.c1", "emqx_bridge_http_schema:config_connector",
     {"enable"}),
    # a map entry given as an empty object: hocon still checks its fields
    ("connectors.http.c2", {}, "connectors.http.c2", "emqx_bridge_http_schema:config_connector", set()),
    # list items: an authenticator (the member picked by mechanism and backend), an authorization source (by
    # type), a struct list with no union
    ("authentication", [{"mechanism": "password_based", "backend": "mysql", "database": "d"}], "authentication[0]",
     "emqx_authn_mysql_schema:mysql", {"mechanism", "backend", "database"}),
    ("authorization.sources", [{"type": "file", "enable": True}], "authorization.sources[0]",
     "emqx_authz_file_schema:file", {"type", "enable"}),
    ("plugins.states", [{"name_vsn": "p-1.0.0"}, {"enable": True}], "plugins.states[1]", "emqx_plugins_schema:state",
     {"enable"}),
    # a map value given as an object
    ("cluster.links", [{"name": "l1", "enable": True}], "cluster.links[0]", "emqx_cluster_link_schema:link",
     {"name", "enable"}),
]  # fmt: skip


@pytest.fixture(scope="module")
def refused(helm4) -> str:
    with pytest.raises(HelmError) as caught:
        render(helm4, {"emqxConfig": {key: value for key, value, *_ in REFUSED}})
    return caught.value.stderr


@pytest.mark.parametrize("key, value, path, struct, given", REFUSED, ids=[r[2] for r in REFUSED])
def test_a_struct_without_its_required_fields_is_refused_naming_each(refused, key, value, path, struct, given):
    want = required(struct) - given
    assert want, f"{struct} needs nothing beyond {given}: the row proves nothing"
    assert missing(refused, path) == want, refused
    assert f"EMQX {VERSION} requires" in refused and "would refuse the config at boot" in refused


def test_the_paths_of_the_data_file_are_the_structs_named():
    """The rows name the struct the data file has at their path (a map entry, a list item of one struct)."""
    for _key, _value, path, struct, _given in REFUSED:
        if "[" not in path or path.startswith(("plugins.", "cluster.")):
            assert struct_at(re.sub(r"\[(\d+)\]", lambda m: f".{int(m.group(1)) + 1}", path)) == struct, path


def test_every_refused_struct_comes_in_one_failure(refused):
    paths = [path for _k, _v, path, _s, _g in REFUSED]
    assert all(missing(refused, path) for path in paths), refused
    assert refused.count(" requires ") == len(paths), refused


def test_a_secret_among_the_missing_fields_is_pointed_at_extra_env(refused):
    line = next(line for line in refused.splitlines() if line.startswith("emqxConfig.dashboard.sso.oidc:"))
    assert "secret through extraEnv with valueFrom.secretKeyRef" in line, line


def test_helm_3_gives_the_same_messages(other_helm, refused):
    with pytest.raises(HelmError) as caught:
        render(other_helm, {"emqxConfig": {key: value for key, value, *_ in REFUSED}})
    assert caught.value.stderr == refused


OIDC_SECRET = {"name": "EMQX_DASHBOARD__SSO__OIDC__SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}


def test_a_struct_with_every_required_field_renders(template):
    """The same structs with their required fields: the OIDC secret from a Secret through extraEnv, which counts."""
    oidc = required("emqx_dashboard_sso_oidc:oidc")
    assert {"backend", "clientid", "issuer", "secret"} <= oidc  # emqx_dashboard_sso_oidc.erl fields(oidc)
    config = {
        "dashboard.sso.oidc": {"enable": True, "backend": "oidc", "clientid": "c", "issuer": "https://idp.example.com"},
        "connectors.http.c1": {"enable": False, "url": "http://h:80"},
        "authentication": [
            {"mechanism": "password_based", "backend": "mysql", "database": "d", "query": "q", "server": "db:3306"},
        ],
        "authorization.sources": [{"type": "file", "path": "/x"}],
        "plugins.states": [{"name_vsn": "p-1.0.0"}, {"name_vsn": "q-1.0.0", "enable": True}],
        "cluster.links": [{"name": "l1", "server": "peer:11883", "topics": ["t/#"]}],
    }
    template({"emqxConfig": config, "extraEnv": [OIDC_SECRET]})


def test_a_required_field_given_through_extra_env_counts(template):
    """An item's field from extraEnv, which counts list items from 1 as hocon does (EMQX_AUTHENTICATION__1__...
    is authentication[0]); without it the item is refused."""
    mysql = required("emqx_authn_mysql_schema:mysql")
    item = {"mechanism": "password_based", "backend": "mysql", "database": "d", "query": "q"}
    assert mysql - set(item) == {"server"}
    server = {"name": "EMQX_AUTHENTICATION__1__SERVER", "value": "db:3306"}
    template({"emqxConfig": {"authentication": [item]}, "extraEnv": [server]})
    with pytest.raises(HelmError, match=r"requires server under authentication\[0\]"):
        template({"emqxConfig": {"authentication": [item]}})
    with pytest.raises(HelmError, match=r"requires server under authentication\[0\]"):
        template({"emqxConfig": {"authentication": [item]}, "extraEnv": [{**server, "name": server["name"] + "X"}]})


def test_a_struct_extra_env_gives_whole_is_not_checked(template):
    """extraEnv can give a whole struct from a Secret, which the render cannot read: its fields are not asked for."""
    whole = {"name": "EMQX_DASHBOARD__SSO__OIDC", "valueFrom": {"secretKeyRef": {"name": "s", "key": "oidc"}}}
    template({"emqxConfig": {"dashboard.sso.oidc.enable": True}, "extraEnv": [whole]})


def test_a_field_emqx_base_config_sets_counts(template):
    """node needs cookie and data_dir (emqx_conf_schema.erl fields("node")): EMQX's own etc/emqx.conf sets both
    (apps/emqx_conf/etc/emqx_conf.conf), and the chart refuses node.data_dir in emqxConfig, so a node setting
    renders."""
    assert {"cookie", "data_dir"} <= required("emqx_enterprise_schema:node")
    template({"emqxConfig": {"node.global_gc_interval": "15m"}})


def test_a_required_field_given_by_alias_counts(template):
    """A Kafka producer action's parameters also go by `kafka` (emqx_bridge_kafka.erl, aliases => [kafka])."""
    node = schema()["structs"]["emqx_bridge_kafka:kafka_producer_action"]["fields"]["parameters"]
    assert node["aliases"] == ["kafka"] and node.get("required") is True and not node.get("has_default")
    template({"emqxConfig": {"actions.kafka_producer.k1": {"connector": "kc", "kafka": {"topic": "t"}}}})
    with pytest.raises(HelmError, match="requires parameters under actions.kafka_producer.k1"):
        template({"emqxConfig": {"actions.kafka_producer.k1": {"connector": "kc"}}})


def test_a_struct_emqx_config_does_not_reach_is_not_checked(template):
    """A dashboard setting reaches dashboard, not dashboard.sso.oidc (which keeps its default: nothing, since
    emqx_dashboard_sso_schema.erl gives each backend required => {false, recursively})."""
    assert required("emqx_dashboard_sso_oidc:oidc")
    oidc = schema()["structs"]["emqx_dashboard_sso_schema:sso"]["fields"]["oidc"]
    assert oidc["required"] == "{false, recursively}"
    template({"emqxConfig": {"dashboard.token_expired_time": "60m", "authorization.no_match": "deny"}})


def test_a_union_field_left_out_needs_what_its_first_member_needs(template):
    """hocon checks a union left out against its first member (hocon_tconf.erl select_union_members/3 with no
    value): an Elasticsearch connector without authentication is refused, its first member (basic) needing
    username and password."""
    node = schema()["structs"]["emqx_bridge_es_connector:config"]["fields"]["authentication"]
    assert node["kind"] == "union" and not node.get("has_default") and node.get("required") is not True
    assert required(node["members"][0]["name"])
    with pytest.raises(HelmError, match="requires authentication under connectors.elasticsearch.e1"):
        template({"emqxConfig": {"connectors.elasticsearch.e1.server": "es:9200"}})


# Items of lists of struct unions, and the member EMQX picks for each (emqx_authn_schema.erl
# union_member_selector/1 hands the item to its provider's select_union_member: by method, mongo_type,
# redis_type, use_jwks and then public_key); the item sets no field the member requires beyond its selectors.
PICKED = [
    ({"mechanism": "jwt", "use_jwks": False}, "emqx_authn_jwt_schema:jwt_hmac"),
    ({"mechanism": "jwt", "use_jwks": False, "public_key": "k"}, "emqx_authn_jwt_schema:jwt_public_key"),
    ({"mechanism": "jwt", "use_jwks": True}, "emqx_authn_jwt_schema:jwt_jwks"),
    ({"mechanism": "password_based", "backend": "mongodb", "mongo_type": "rs"}, "emqx_authn_mongodb_schema:mongo_rs"),
    ({"mechanism": "password_based", "backend": "redis", "redis_type": "sentinel"},
     "emqx_authn_redis_schema:redis_sentinel"),
    ({"mechanism": "password_based", "backend": "http", "method": "get"}, "emqx_authn_http_schema:http_get"),
    ({"mechanism": "scram", "backend": "http", "method": "post"}, "emqx_authn_scram_restapi_schema:scram_restapi_post"),
]  # fmt: skip
PICKED_SOURCES = [
    ({"type": "mongodb", "mongo_type": "sharded"}, "emqx_authz_mongodb_schema:mongo_sharded"),
    ({"type": "redis", "redis_type": "cluster"}, "emqx_authz_redis_schema:redis_cluster"),
    ({"type": "http", "method": "post"}, "emqx_authz_http_schema:http_post"),
]


@pytest.fixture(scope="module")
def picked(helm4) -> str:
    config = {"authentication": [i for i, _ in PICKED], "authorization.sources": [i for i, _ in PICKED_SOURCES]}
    with pytest.raises(HelmError) as caught:
        render(helm4, {"emqxConfig": config})
    return caught.value.stderr


@pytest.mark.parametrize("i", range(len(PICKED) + len(PICKED_SOURCES)))
def test_an_item_needs_what_the_member_emqx_picks_needs(picked, i):
    key, index = ("authentication", i) if i < len(PICKED) else ("authorization.sources", i - len(PICKED))
    item, struct = (PICKED + PICKED_SOURCES)[i]
    want = required(struct) - set(item)
    assert want, struct
    assert missing(picked, f"{key}[{index}]") == want, picked


@pytest.mark.parametrize(
    "item, selector",
    [
        ({"mechanism": "jwt", "secret": "k", "algorithm": "hmac-based"}, "use_jwks"),
        ({"mechanism": "password_based", "backend": "mongodb", "server": "m:27017"}, "mongo_type"),
        ({"mechanism": "password_based", "backend": "redis", "server": "r:6379", "cmd": "HMGET x"}, "redis_type"),
        ({"mechanism": "password_based", "backend": "http", "url": "http://a"}, "method"),
    ],
)
def test_an_item_without_the_field_emqx_picks_its_member_by_is_refused(template, item, selector):
    """Each provider throws when its selector is missing (emqx_authn_jwt_schema.erl select_ref/2 for use_jwks,
    refs/1 of the MongoDB and Redis schemas, emqx_authn_http_schema.erl select_union_member/1 for method)."""
    with pytest.raises(HelmError, match=rf"authentication\[0\] has no {selector}: EMQX chooses"):
        template({"emqxConfig": {"authentication": [item]}})


def members(node: dict) -> list[str]:
    return [m["name"] for m in node["members"] if m["kind"] == "ref"]


def forms(stderr: str, path: str) -> list[set[str]]:
    """The missing fields of each form the chart's message for `path` names, when it names more than one."""
    at = re.escape(path)
    pattern = (
        rf"^emqxConfig\.{at}: EMQX {re.escape(VERSION)} reads {at} as one of (\d+) forms, "
        r"and each lacks fields it requires: (.+?); "
    )
    found = re.findall(pattern, stderr, re.M)
    assert len(found) <= 1, (path, found)
    if not found:
        return []
    listed = [set(f.split(", ")) for f in re.findall(r"\(([^)]*)\)", found[0][1])]
    assert len(listed) == int(found[0][0]), found
    return listed


BUILTIN_DB = {"mechanism": "password_based", "backend": "built_in_database"}


def test_a_password_hash_needs_what_the_member_its_name_picks_needs(helm4):
    """EMQX picks the member of a password hash by its name (emqx_authn_password_hashing.erl union_selector/1):
    each name asks for what its own member requires (pbkdf2: mac_fun and iterations), and a hash whose fields
    only one member has is that member, which needs its name."""
    node = schema()["structs"]["emqx_authn_mnesia_schema:builtin_db"]["fields"]["password_hash_algorithm"]
    names = []
    for member in members(node):
        name = schema()["structs"][member]["fields"]["name"]
        names.append((member, name.get("value") or name["values"][0]))
    assert any(required(m) - {"name"} for m, _ in names), names
    items = [{**BUILTIN_DB, "password_hash_algorithm": {"name": value}} for _, value in names]
    with pytest.raises(HelmError) as caught:
        render(helm4, {"emqxConfig": {"authentication": items}})
    for i, (member, _) in enumerate(names):
        assert missing(caught.value.stderr, f"authentication[{i}].password_hash_algorithm") == required(member) - {
            "name"
        }, caught.value.stderr
    only = [m for m in members(node) if "salt_position" in schema()["structs"][m]["fields"]]
    assert len(only) == 1, only
    items = [{**BUILTIN_DB, "password_hash_algorithm": {"salt_position": "prefix"}}]
    with pytest.raises(HelmError) as caught:
        render(helm4, {"emqxConfig": {"authentication": items}})
    assert missing(caught.value.stderr, "authentication[0].password_hash_algorithm") == required(only[0])
    full = {"name": "pbkdf2", "mac_fun": "sha256", "iterations": 4096}
    render(helm4, {"emqxConfig": {"authentication": [{**BUILTIN_DB, "password_hash_algorithm": full}]}})


REDIS = resolve(["connectors", "redis", "r", "parameters"])[0]


def test_where_several_members_stay_possible_each_ones_missing_fields_are_named(helm4):
    """A Redis connector's parameters are a union hocon tries member by member: empty, each member lacks its
    own fields and the message names each form; a field only one member has picks that member, and a value that
    fits one member renders."""
    want = [required(m) for m in members(REDIS)]
    assert len({frozenset(w) for w in want}) == len(want) > 1 and all(want), want
    with pytest.raises(HelmError) as caught:
        render(helm4, {"emqxConfig": {"connectors.redis.r.parameters": {}}})
    assert sorted(map(sorted, forms(caught.value.stderr, "connectors.redis.r.parameters"))) == sorted(
        map(sorted, want)
    ), caught.value.stderr
    sentinel = [m for m in members(REDIS) if "sentinel" in schema()["structs"][m]["fields"]]
    assert len(sentinel) == 1, sentinel
    with pytest.raises(HelmError) as caught:
        render(helm4, {"emqxConfig": {"connectors.redis.r.parameters": {"sentinel": "mymaster"}}})
    assert missing(caught.value.stderr, "connectors.redis.r.parameters") == required(sentinel[0]) - {"sentinel"}
    cluster = next(m for m in members(REDIS) if required(m) == {"servers"})
    assert "servers" in schema()["structs"][cluster]["fields"]
    render(helm4, {"emqxConfig": {"connectors.redis.r.parameters": {"servers": "redis-0:6379,redis-1:6379"}}})


def test_values_no_member_takes_together_are_refused_naming_what_keeps_each_out(helm4):
    """Each field and value fits some member of a Redis connector's parameters, but none takes them all: the
    single-node member has no `servers`, the others fix another `redis_type`. hocon matches no member."""
    config = {"redis_type": "single", "servers": "redis-0:6379"}
    whys = []
    for member in members(REDIS):
        fields = schema()["structs"][member]["fields"]
        why = [f"no field {f}" for f in config if f not in fields]
        fixed = fields["redis_type"].get("value")
        if fixed and fixed != config["redis_type"]:
            why.append(f"redis_type is {fixed}")
        assert why, member
        whys.append(", ".join(why))
    with pytest.raises(HelmError) as caught:
        render(helm4, {"emqxConfig": {"connectors.redis.r.parameters": config}})
    listed = "; ".join(f"form {i}: {why}" for i, why in enumerate(whys, 1))
    assert (
        f"emqxConfig.connectors.redis.r.parameters: EMQX {VERSION} takes one of {len(whys)} forms here, and none "
        f"has every field set as given ({listed})"
    ) in caught.value.stderr, caught.value.stderr


def test_a_union_hocon_tries_in_turn_takes_any_member(helm4):
    """A subscription QoS rule's topic is a union hocon tries member by member (emqx_schema.erl
    fields("topic_qos_rule")): the members need different fields and none in common, so either form renders,
    while the rule itself still needs its qos."""
    rule = schema()["structs"]["emqx_schema:topic_qos_rule"]["fields"]
    members = [m["name"] for m in rule["topic"]["members"]]
    assert reduce(set.intersection, (required(m) for m in members)) == set()
    assert all(required(m) for m in members)
    rules = [{"qos": 1, "topic": {"equals": "a/b"}}, {"qos": 0, "topic": {"matches": "c/#"}}]
    render(helm4, {"emqxConfig": {"mqtt.subscription_max_qos_rules": rules}})
    with pytest.raises(HelmError) as caught:
        render(helm4, {"emqxConfig": {"mqtt.subscription_max_qos_rules": [{"topic": {"equals": "a/b"}}]}})
    assert missing(caught.value.stderr, "mqtt.subscription_max_qos_rules[0]") == required(
        "emqx_schema:topic_qos_rule"
    ) - {"topic"}


def test_the_check_follows_emqx_config_check(template):
    """emqxConfigCheck.allowUnknown lets through what the checks of this EMQX version refuse."""
    values = {"emqxConfig": {"dashboard.sso.oidc.enable": True}, "emqxConfigCheck": {"allowUnknown": True}}
    template(values)


def _compact() -> dict[str, Any]:
    return json.loads((CHART / "files" / "emqx-schema.json").read_text())


def _indexes() -> dict[int, str]:
    """The data file's name of each struct index of the compact schema, found by walking both from the roots."""
    compact, data = _compact()["s"], schema()
    found: dict[int, str] = {}

    def pair(kind: Any, node: dict[str, Any]) -> None:
        if isinstance(kind, int):
            if kind not in found:
                found[kind] = node["name"]
                fields(kind, data["structs"][node["name"]])
        elif isinstance(kind, dict):
            for key, inner in kind.items():
                if key in ("m", "a", "x"):
                    pair(inner, node if key == "x" else node["value"] if key == "m" else node["item"])
                elif key == "u" and node["kind"] == "union":
                    for k, member in zip(inner, node["members"], strict=True):
                        pair(k, member)

    def fields(index: int, struct: dict[str, Any]) -> None:
        for name, node in struct["fields"].items():
            pair(compact[index][name], node)

    fields(0, data["schema"])
    return found


def test_the_compact_schema_lists_the_required_fields_of_the_data_file():
    """Every struct of the compact schema lists in "q" at least the fields the data file marks required with no
    default (roots.py adds those a field left out needs in turn)."""
    q = _compact()["q"]
    indexes = _indexes()
    assert len(indexes) == len(_compact()["s"]) - 1
    for index, name in indexes.items():
        got = {f if isinstance(f, str) else f[0] for f in q.get(str(index), [])}
        assert required(name) <= got, (name, required(name), got)


# Mutations: the one line holding the first text becomes the second; the refused values then render.
MUTATIONS = [
    ("{{- if $missing -}}", "{{- if false -}}", "files/emqx-checks.tpl"),
    (
        "{{- range $f := get $.q (toString (int $t)) | default list -}}",
        "{{- range $f := list -}}",
        "files/emqx-checks.tpl",
    ),
    ('{{- include "emqx-ee.requiredChecks"', "", "files/emqx-checks.tpl"),
]


# Mutations of the member selection (templates/_env.tpl emqx-ee.unionSelect): the items of PICKED are then
# checked against another member, or against all of them.
PICK_MUTATIONS = [
    (
        '{{- range $sel := list "type" "mechanism" "backend" "method"',
        '{{- range $sel := list "type" "mechanism" "backend" -}}',
    ),
    ('{{- if and (kindIs "map" $f) (hasKey $f "e") -}}', ""),
    ('{{- if and (not $problem) (gt (len $members) 1) (hasKey .item "use_jwks") -}}', "{{- if false -}}"),
]


# Mutations of how a union's members are narrowed by the values (files/emqx-checks.tpl emqx-ee.requiredChecks,
# templates/_env.tpl emqx-ee.walkConfig): a pbkdf2 hash then passes as a bcrypt one, or a Redis sentinel
# setting is asked for every member's fields.
NARROWING = [
    ("files/emqx-checks.tpl", '{{- $ok = false -}}{{- $why = append $why (printf "%s is %v" $f $ft.v) -}}', ""),
    ("files/emqx-checks.tpl", '{{- $why = append $why (printf "no field %s" $f) -}}', ""),
    ("templates/_env.tpl", '{{- $_ := set $r "v" (set ($r.v | default dict) $seg $value) -}}', ""),
]  # fmt: skip


@pytest.mark.parametrize("template, line, new", NARROWING, ids=[m[1][:40] for m in NARROWING])
def test_the_values_narrow_the_members_a_struct_is_checked_against(helm4, tmp_path, template, line, new):
    ignore = shutil.ignore_patterns("values.schema.json", "ci", "README.md")
    chart = chart_with_line(tmp_path, template, line, new, ignore)
    config = {
        "authentication": [{**BUILTIN_DB, "password_hash_algorithm": {"name": "pbkdf2"}}],
        "connectors.redis.r.parameters": {"sentinel": "mymaster"},
    }
    with pytest.raises(HelmError) as caught:
        render(helm4, {"emqxConfig": config})
    try:
        render(helm4, {"emqxConfig": config}, chart=chart)
        mutated = ""
    except HelmError as error:
        mutated = error.stderr
    assert mutated != caught.value.stderr


@pytest.mark.parametrize("line, new", PICK_MUTATIONS, ids=[m[0][:40] for m in PICK_MUTATIONS])
def test_the_member_selection_decides_what_an_item_needs(helm4, tmp_path, line, new):
    ignore = shutil.ignore_patterns("values.schema.json", "ci", "README.md")
    chart = chart_with_line(tmp_path, "templates/_env.tpl", line, new, ignore)
    # and two items with a field of a member other than the one picked: the walk refuses the field, while
    # against every member they would fit none
    mixed = [
        {"mechanism": "password_based", "backend": "mongodb", "mongo_type": "rs", "server": "h:27017"},
        {"mechanism": "jwt", "use_jwks": True, "secret": "s"},
    ]
    config = {
        "authentication": [i for i, _ in PICKED] + mixed,
        "authorization.sources": [i for i, _ in PICKED_SOURCES],
    }
    with pytest.raises(HelmError) as caught:
        render(helm4, {"emqxConfig": config})
    with pytest.raises(HelmError) as mutated:
        render(helm4, {"emqxConfig": config}, chart=chart)
    assert mutated.value.stderr != caught.value.stderr


@pytest.mark.parametrize("line, new, template", MUTATIONS, ids=[m[0][:40] for m in MUTATIONS])
def test_removing_the_check_lets_the_refused_structs_through(helm4, tmp_path, line, new, template):
    ignore = shutil.ignore_patterns("values.schema.json", "ci", "README.md")
    chart = chart_with_line(tmp_path, template, line, new, ignore)
    render(helm4, {"emqxConfig": {key: value for key, value, *_ in REFUSED}}, chart=chart)


def test_removing_emqx_base_config_refuses_a_node_setting(helm4, tmp_path):
    """Without node.data_dir among what EMQX's own config sets, a node setting is refused for the lack of it: the
    list of base settings is what lets it through."""
    ignore = shutil.ignore_patterns("values.schema.json", "ci", "README.md")
    line = '{{- $given := list "node.name" "node.cookie" "node.data_dir" '
    text = (CHART / "templates" / "_env.tpl").read_text()
    full = next(t for t in text.split("\n") if t.startswith(line))
    chart = chart_with_line(tmp_path, "templates/_env.tpl", line, full.replace(' "node.data_dir"', ""), ignore)
    with pytest.raises(HelmError) as caught:
        render(helm4, {"emqxConfig": {"node.global_gc_interval": "15m"}}, chart=chart)
    assert missing(caught.value.stderr, "node") == {"data_dir"}, caught.value.stderr


def test_removing_the_item_walk_mark_lets_an_empty_item_through(helm4, tmp_path):
    """An item given as an empty object still has a value for hocon, which then checks its fields: the mark of
    the struct an object reaches is what refuses it."""
    values = {"emqxConfig": {"plugins.states": [{}]}}
    with pytest.raises(HelmError, match=r"requires name_vsn under plugins.states\[0\]"):
        render(helm4, values)
    ignore = shutil.ignore_patterns("values.schema.json", "ci", "README.md")
    line = '{{- include "emqx-ee.markReached" (dict "found" $.found "path" $at "types" $sel.types) -}}'
    chart = chart_with_line(tmp_path, "templates/_env.tpl", line, "", ignore)
    render(helm4, values, chart=chart)


def test_a_field_the_chart_writes_counts(helm4, tmp_path):
    """No struct of EMQX 6.2.2 needs a field that only the chart writes, so a copy of the chart whose compact schema
    says that plugins needs install_dir (which the chart always writes, EMQX_PLUGINS__INSTALL_DIR) and states
    shows it: a plugins setting without states is refused for states only."""
    index = next(i for i, name in _indexes().items() if name == "emqx_plugins_schema:plugins")
    chart = tmp_path / CHART.name
    shutil.copytree(CHART, chart, ignore=shutil.ignore_patterns("values.schema.json", "ci", "README.md"))
    compact = _compact()
    compact["q"][str(index)] = ["install_dir", "states"]
    (chart / "files" / "emqx-schema.json").write_text(json.dumps(compact, separators=(",", ":"), sort_keys=True))
    with pytest.raises(HelmError) as caught:
        render(helm4, {"emqxConfig": {"plugins.api_endpoint": {}}}, chart=chart)
    assert missing(caught.value.stderr, "plugins") == {"states"}, caught.value.stderr
    render(helm4, {"emqxConfig": {"plugins.states": []}}, chart=chart)
