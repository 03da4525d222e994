"""emqxConfig values at fields whose EMQX validator the chart cannot run (tools/emqx_schema/roots.py UNCHECKED: rule
SQL, jq, LDAP filters, Redis commands...) render, and the install NOTES carry one WARNING naming each such path
with what EMQX parses there, since EMQX checks it only at boot. Without emqxConfig, or with only modelled fields,
there is no such warning."""

from __future__ import annotations

import json
import re
import shutil
import sys
from typing import Any

import pytest

from harness.emqx_config import schema
from harness.helm import chart_with_line, notes
from harness.tools import CHART, ROOT

pytestmark = pytest.mark.unit

sys.path.insert(0, str(ROOT / "tools" / "emqx_schema"))
import roots  # noqa: E402  (the generator's tables: a script folder, not a package)

HEAD = "WARNING: EMQX checks these emqxConfig values at boot"

# One value per validator of roots.UNCHECKED: (emqxConfig, extraEnv names given from a Secret, the paths the
# warning names). Each passes its type and required-field checks, so only the unchecked validator is left.
SECRET = {"valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}
LDAP = {"server": "ldap:389", "username": "cn=admin", "base_dn": "dc=example,dc=com", "filter": "(uid=${username})"}
EXAMPLES: dict[str, tuple[dict[str, Any], list[str], list[str]]] = {
    "emqx_schema:validate_ciphers/1": ({"rpc": {"ciphers": ["TLS_NO_SUCH_CIPHER"]}}, [], ["rpc.ciphers"]),
    "emqx_rule_engine_schema:validate_sql/1": (
        {"rule_engine": {"rules": {"r1": {"sql": "SELEC * FROM t"}}}},
        [],
        ["rule_engine.rules.r1.sql"],
    ),
    "emqx_schema_validation_schema:validate_sql/1": (
        {
            "schema_validation": {
                "validations": [
                    {
                        "name": "v1",
                        "topics": ["t/#"],
                        "failure_action": "drop",
                        "strategy": "all_pass",
                        "checks": [{"type": "sql", "sql": "SELEC * FROM t"}],
                    }
                ]
            }
        },
        [],
        ["schema_validation.validations[0].checks[0].sql"],
    ),
    "emqx_modules_schema:is_re/1": (
        {"rewrite": [{"action": "all", "source_topic": "x/#", "dest_topic": "y/$1", "re": "^x/(.+$"}]},
        [],
        ["rewrite[0].re"],
    ),
    "emqx_dashboard_sso_oidc:jq_expr_validator/1": (
        {
            "dashboard": {
                "sso": {
                    "oidc": {
                        "enable": True,
                        "backend": "oidc",
                        "clientid": "c",
                        "issuer": "https://issuer.example",
                        "role_expr": ".role |",
                    }
                }
            }
        },
        ["EMQX_DASHBOARD__SSO__OIDC__SECRET"],
        ["dashboard.sso.oidc.role_expr"],
    ),
    "emqx_authn_cinfo_schema:validate_expressions/1": (
        {"authentication": [{"mechanism": "cinfo", "checks": [{"is_match": "str_eq(username", "result": "allow"}]}]},
        [],
        ["authentication[0].checks", "authentication[0].checks[0].is_match"],
    ),
    "emqx_authn_cinfo_schema:validate_checks/1": (
        {"authentication": [{"mechanism": "cinfo", "checks": [{"is_match": "true", "result": "allow"}]}]},
        [],
        ["authentication[0].checks", "authentication[0].checks[0].is_match"],
    ),
    "emqx_ldap:dn_validator/1": (
        {"authorization": {"sources": [{"type": "ldap", **LDAP, "base_dn": "dc=example,,"}]}},
        ["EMQX_AUTHORIZATION__SOURCES__1__PASSWORD"],
        ["authorization.sources[0].base_dn", "authorization.sources[0].filter"],
    ),
    "emqx_ldap:filter_validator/1": (
        {"authorization": {"sources": [{"type": "ldap", **LDAP, "filter": "(uid=${username}"}]}},
        ["EMQX_AUTHORIZATION__SOURCES__1__PASSWORD"],
        ["authorization.sources[0].base_dn", "authorization.sources[0].filter"],
    ),
    "emqx_bridge_redis:is_command_template_valid/1": (
        {"actions": {"redis": {"a1": {"connector": "c1", "parameters": {"command_template": ["SETX", "k", "v"]}}}}},
        [],
        ["actions.redis.a1.parameters.command_template"],
    ),
    "fun in emqx_authz_redis_schema:cmd/0": (
        {
            "authorization": {
                "sources": [{"type": "redis", "redis_type": "single", "server": "r:6379", "cmd": "HGETAL"}]
            }
        },
        [],
        ["authorization.sources[0].cmd"],
    ),
    "fun in emqx_authz_postgresql_schema:query/0": (
        {
            "authorization": {
                "sources": [
                    {"type": "postgresql", "server": "pg:5432", "database": "d", "username": "u", "query": "SELEC"}
                ]
            }
        },
        [],
        ["authorization.sources[0].query"],
    ),
    "emqx_schema_registry_schema:protobuf_source_validator/1": (
        {"schema_registry": {"schemas": {"s1": {"type": "protobuf", "source": "message X {"}}}},
        [],
        ["schema_registry.schemas.s1.source"],
    ),
    "emqx_connector_aggregator_schema:parquet_avro_schema_validator/1": (
        {
            "actions": {
                "s3": {
                    "a1": {
                        "connector": "c1",
                        "parameters": {
                            "mode": "aggregated",
                            "bucket": "b",
                            "key": "k/${clientid}",
                            "aggregation": {},
                            "container": {"type": "parquet", "schema": {"type": "avro_inline", "def": "{"}},
                        },
                    }
                }
            }
        },
        [],
        ["actions.s3.a1.parameters.container.schema.def", "actions.s3.a1.parameters.key"],
    ),
    "emqx_bridge_s3_upload:validate_key_template/1": (
        {
            "actions": {
                "s3": {
                    "a1": {
                        "connector": "c1",
                        "parameters": {"mode": "aggregated", "bucket": "b", "key": "k", "aggregation": {}},
                    }
                }
            }
        },
        [],
        ["actions.s3.a1.parameters.key"],
    ),
    "emqx_bridge_gcp_pubsub_schema_lib:service_account_json_validator/1": (
        {
            "connectors": {
                "gcp_pubsub_producer": {
                    "c1": {"authentication": {"type": "service_account_json", "service_account_json": "{}"}}
                }
            }
        },
        [],
        ["connectors.gcp_pubsub_producer.c1.authentication.service_account_json"],
    ),
    "emqx_authn_kerberos_schema:validate_keytab_file_path/1": (
        {
            "authentication": [
                {
                    "mechanism": "gssapi",
                    "backend": "kerberos",
                    "principal": "mqtt/broker@EXAMPLE.COM",
                    "keytab_file": "/no/such.keytab",
                }
            ]
        },
        [],
        ["authentication[0].keytab_file"],
    ),
    "fun in emqx_authz_file_schema:fields/1": (
        {"authorization": {"sources": [{"type": "file", "path": "/no/such/acl.conf"}]}},
        [],
        ["authorization.sources[0].path"],
    ),
    "emqx_ds_schema:validate_config/1": (
        {"durable_storage": {"messages": {"n_shards": 4}}},
        [],
        ["durable_storage"],
    ),
    "emqx_nats_schema:validate_internal_authn/1": (
        {"gateway": {"nats": {"internal_authn": [{"type": "nkey", "nkeys": ["not-an-nkey"]}]}}},
        [],
        ["gateway.nats.internal_authn"],
    ),
}


def _values(validator: str) -> dict[str, Any]:
    config, secrets, _ = EXAMPLES[validator]
    return {"emqxConfig": config, "extraEnv": [{"name": n, **SECRET} for n in secrets]}


def _warned(text: str) -> dict[str, str]:
    """The paths the unchecked-values WARNING of NOTES names, with what it says EMQX parses there."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(HEAD)]
    assert len(starts) <= 1, "one WARNING block, not several"
    if not starts:
        return {}
    block = []
    for line in lines[starts[0] + 1 :]:
        if not line.startswith(" "):
            break
        block.append(line)
    return dict(re.findall(r"^ +emqxConfig\.(\S+) \((.+)\)$", "\n".join(block), re.M))


def test_every_unchecked_validator_has_an_example():
    assert set(EXAMPLES) == set(roots.UNCHECKED)
    skipped = set(roots.NOT_MODELLED) - set(roots.UNCHECKED)
    assert all(roots.NOT_MODELLED[v] == roots.OWNED or "never refuses" in roots.NOT_MODELLED[v] for v in skipped), (
        "a validator the chart cannot run is left out of UNCHECKED, so its values would pass without a word"
    )


def test_compact_schema_marks_every_field_of_an_unchecked_validator():
    data = schema()
    compact = json.loads((CHART / "files" / "emqx-schema.json").read_text())
    names = ["", *_order(data)]
    fields = roots.validator_fields(data)
    for validator, what in roots.UNCHECKED.items():
        for at in sorted(set(fields.get(validator, []))):
            struct, field = at.rsplit(".", 1) if ":" in at else ("", at)
            if struct not in names:
                continue  # a struct no root reaches
            key = f"{names.index(struct)}.{field}"
            assert {"unchecked": what} in compact["c"].get(key, []), (
                f"{at}: no unchecked code in files/emqx-schema.json"
            )


def _order(data: dict[str, Any]) -> list[str]:
    """The struct names in the order of the compact schema's list after the roots (roots.compact's numbering)."""
    order: list[str] = []

    def refs(node: object) -> None:
        if isinstance(node, dict):
            if node.get("kind") == "ref" and node["name"] not in order:
                order.append(node["name"])
            for key in ("value", "item", "members"):
                if key in node:
                    refs(node[key])
        elif isinstance(node, list):
            for child in node:
                refs(child)

    for _, node in sorted(data["schema"]["fields"].items()):
        refs(node)
    done = 0
    while done < len(order):
        for _, node in sorted(data["structs"][order[done]]["fields"].items()):
            refs(node)
        done += 1
    return order


@pytest.mark.parametrize("validator", sorted(EXAMPLES))
def test_notes_name_each_value_the_chart_cannot_check(helm4, validator):
    _, _, paths = EXAMPLES[validator]
    warned = _warned(notes(helm4, _values(validator)))
    for path in paths:
        assert path in warned, f"NOTES do not name emqxConfig.{path} ({validator}): {warned}"
    assert warned[paths[0]] in roots.UNCHECKED.values()
    assert set(warned) == set(paths), f"NOTES name paths no validator of the chart skipped: {warned}"


def test_the_warning_says_what_emqx_parses_and_how_to_check_first(helm4):
    text = notes(helm4, _values("emqx_rule_engine_schema:validate_sql/1"))
    assert _warned(text) == {"rule_engine.rules.r1.sql": roots.UNCHECKED["emqx_rule_engine_schema:validate_sql/1"]}
    assert "at boot" in text and "stops every node of the roll" in text
    assert "POST /api/v5/rule_test" in text and f"EMQX {schema()['emqx_version']}" in text


def test_no_warning_without_emqx_config_or_with_modelled_fields_only(helm4):
    assert HEAD not in notes(helm4)
    modelled = {"emqxConfig": {"mqtt": {"max_packet_size": "1MB"}, "log": {"console": {"time_offset": "utc"}}}}
    assert HEAD not in notes(helm4, modelled)


# The NOTES block and the run's branch for the code: without either, a value at an unchecked field goes unnamed.
MUTATIONS = [
    ("templates/NOTES.txt", '{{- with (include "emqx-ee.userConfig" . | fromJson).unchecked }}', "{{- with false }}"),
    ("files/emqx-checks.tpl", '{{- if hasKey $m "unchecked" -}}', "{{- if false -}}"),
]


@pytest.mark.parametrize("template, line, new", MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_removing_the_warning_or_its_code_leaves_the_value_unnamed(helm4, tmp_path, template, line, new):
    values = _values("emqx_rule_engine_schema:validate_sql/1")
    assert _warned(notes(helm4, values))
    ignore = shutil.ignore_patterns("values.schema.json", "ci", "README.md")
    chart = chart_with_line(tmp_path, template, line, new, ignore)
    assert not _warned(notes(helm4, values, chart=chart))
