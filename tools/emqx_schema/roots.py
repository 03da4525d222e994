#!/usr/bin/env python3
"""Write a compact form of EMQX's config schema into the chart (files/emqx-schema.json, with its version and
source in templates/_emqx_schema.tpl), from the schema data file of the chart's appVersion.

The chart checks every `emqxConfig` path and value against it at render time (`emqx-ee.walkConfig` in
`_env.tpl`, which parses it only when `emqxConfig` is set): a first segment that is no config root (EMQX would
ignore it without a word, the message names the nearest roots), unknown fields, types and ranges, deprecated
fields. It comes from tools/emqx_schema/data/emqx-schema-<appVersion>.json, which tools/emqx_schema generates
from EMQX's source. tests/unit/test_emqx_schema.py and test_emqx_config_check.py run `--check`, so the chart's
copy cannot drift from the data file.

    tools/emqx_schema/roots.py           # rewrite charts/emqx-ee/files/emqx-schema.json and templates/_emqx_schema.tpl
    tools/emqx_schema/roots.py --check   # exit 1 when it is stale
    tools/emqx_schema/roots.py --validators-table   # the table of validators in docs/emqx-schema.md

The compact schema keeps only what the checks need. Structs are a list; a struct is {field: type}
(aliases as extra names of the same type); a type is
    number n          the struct at index n (index 0 holds the roots)
    "b"               boolean                    "s"  any text (strings, atoms, templates, secrets...)
    "d"               duration (any unit family) "B"  byte size (bytesize, wordsize)
    "%"               percent                    "p"  ip_port ([ip]:port or a port)
    "n"               number (float or integer)  "M"  free-form object (written as one JSON value)
    "l"               text or a list (comma_separated_*)          "*"  anything (term, and types
                      whose check the data file does not say: backend, block_size, size_limit)
    "r" / "u"         limiter rate / burst       "i"  integer
    {"i": [lo, hi]}   integer with bounds (null: unbounded)
    {"e": [values]}   enum                       {"v": value}  singleton
    {"u": [types]}    union                      {"a": type}   array
    {"m": type}       map with hocon's default key names
    {"x": type}       a deprecated field (EMQX deletes it unchecked)
    {"a": type, "j": ","}   an array a converter also takes as one comma-separated string
    {"a": type, "w": 1}     an array a converter also takes as one item (wrapped into a list)
An array without "j" or "w" takes a list only: hocon_tconf.erl map_field(?ARRAY) refuses anything else.

Beside the structs, "c" holds the validators EMQX runs on a field after its type check (the `validator` of
its field schema), keyed "<struct index>.<field>": a list of check codes (VALIDATORS below, implemented by
emqx-ee.emqxCheck in files/emqx-checks.tpl). A validator of a struct or map field sees every value set below the field.
A validator the chart cannot run (UNCHECKED below) has the code {"unchecked": what EMQX parses there}: the render
passes the value, and the chart's NOTES name its path.

"q" holds, keyed "<struct index>", the fields a struct needs once it has a value (needed_fields below): those
its schema marks `required => true` without a default, and those whose struct or first union member needs a
field in turn. Each is a name, or [name, alias...]. emqx-ee.requiredChecks in files/emqx-checks.tpl refuses a
struct that emqxConfig reaches without them.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "emqx-ee"
TARGET = CHART / "templates" / "_emqx_schema.tpl"
# The schema itself is a file of the chart, not a template: Helm parses every template file on every render, and
# emqx-ee.emqxSchema reads this one only when emqxConfig is set.
TARGET_JSON = CHART / "files" / "emqx-schema.json"

# Scalar types of the data file by what EMQX's check of them takes (emqx_schema.erl to_duration*,
# to_bytesize, to_wordsize, to_percent, to_ip_port; typerefl for the others).
SCALARS = {
    "boolean": "b",
    "integer": "i",
    "qos": {"i": [0, 2]},
    "pos_integer_or_infinity": {"u": [{"v": "infinity"}, {"i": [1, None]}]},
    "float": "n",
    "number": "n",
    "bytesize": "B",
    "wordsize": "B",
    "percent": "%",
    "ip_port": "p",
    "map": "M",
    "comma_separated_list": "l",
    "comma_separated_binary": "l",
    "comma_separated_atoms": "l",
    "term": "*",
    "backend": "*",
    "block_size": "*",
    "size_limit": "*",
    **{
        t: "d"
        for t in (
            "duration",
            "duration_ms",
            "duration_s",
            "timeout_duration",
            "timeout_duration_ms",
            "timeout_duration_s",
        )
    },
}

# Fields whose data-file type is "string" because EMQX declares them as typerefl:alias("string", T): the
# alias names the type for the docs, the check is T's. The generator keeps the alias name.
#   rate/burst: emqx_limiter_schema.erl rate_type/0, burst_type/0 (to_rate, to_burst), used by
#     make_mqtt_limiters_schema/2 for every <name>_rate/<name>_burst of the listeners and zones, and by
#     emqx_retainer_schema.erl (delivery_rate, max_publish_rate, batch_deliver_limiter) and
#     emqx_prometheus_schema.erl (namespaced_metrics_limiter.rate);
#   duration: emqx_schema.erl mk_duration/1, used by emqx_authz_http_schema.erl (request_timeout),
#     emqx_bridge_mqtt_connector_schema.erl (keepalive, retry_interval), emqx_cluster_link_schema.erl
#     (retry_interval).
ALIAS_CHECKS = {
    ("emqx_retainer_schema:retainer", "delivery_rate"): "r",
    ("emqx_retainer_schema:retainer", "max_publish_rate"): "r",
    ("emqx_retainer_schema:flow_control", "batch_deliver_limiter"): "r",
    ("emqx_prometheus_schema:namespaced_metrics_limiter", "rate"): "r",
    ("emqx_authz_http_schema:http_get", "request_timeout"): "d",
    ("emqx_authz_http_schema:http_post", "request_timeout"): "d",
    ("emqx_bridge_mqtt_connector_schema:config_connector", "keepalive"): "d",
    ("emqx_bridge_mqtt_connector_schema:config_connector", "retry_interval"): "d",
    ("emqx_cluster_link_schema:link", "retry_interval"): "d",
}
# The validators of EMQX 6.2.2's field schemas (the data file's `validator`, named by the generator as
# module:function/arity, or "fun in module:function/arity (bound variables)" for a fun a function makes) and
# the check code that models each in files/emqx-checks.tpl (emqx-ee.emqxCheck). Codes that are objects carry the bounds
# read from the bound variables. NOT_MODELLED names the others with the reason; docs/emqx-schema.md lists
# both, and a test fails when a validator of the data file is in neither table.
VALIDATORS: dict[str, object] = {
    # emqx_schema.erl
    "emqx_schema:validate_max_packet_size/1": "packet_size",
    "emqx_schema:validate_heap_size/1": "heap_size",
    "emqx_schema:validate_keepalive_multiplier/1": "keepalive_multiplier",
    "emqx_schema:validate_tcp_keepalive/1": "tcp_keepalive",
    "emqx_schema:access_rules_validator/1": "access_rules",
    "emqx_schema:validate_server_ssl_opts/1": "server_ssl",
    "emqx_schema:mqtt_ssl_listener_ssl_options_validator/1": "listener_ssl",
    "emqx_schema:ocsp_inner_validator/1": "ocsp",
    "emqx_schema:server_managed_certs_validator/1": "managed_certs",
    "fun in emqx_schema:tls_versions_schema/1 (Collection=tls_all_available)": {"versions": "tls"},
    "fun in emqx_schema:tls_versions_schema/1 (Collection=dtls_all_available)": {"versions": "dtls"},
    "emqx_schema:restricted_string/1": "restricted",
    "emqx_schema:non_empty_string/1": "non_empty",
    "emqx_schema:non_empty_array/1": "non_empty",
    # emqx_conf_schema.erl
    "emqx_conf_schema:validate_time_offset/1": "time_offset",
    "emqx_conf_schema:validate_tls_stateless_tickets_seed/1": "tickets_seed",
    # emqx_dashboard_schema.erl
    "emqx_dashboard_schema:validate_sample_interval/1": "sample_interval",
    "emqx_dashboard_schema:validate_hwmark_expire_time/1": "hwmark_expire",
    # map keys: emqx_schema_registry_schema.erl validate_name/1 refuses the name of the built-in schema
    "emqx_schema_registry_schema:validate_name/1": {"reserved_key": "sparkplugb"},
    # lists of named items: the names are unique
    "emqx_cluster_link_schema:validate_unique_names/1": {"unique": "name"},
    "emqx_message_transformation_schema:validate_unique_names/1": {"unique": "name"},
    "emqx_schema_validation_schema:validate_unique_names/1": {"unique": "name"},
    # names: emqx_resource.erl validate_name/2 (under 255 bytes), emqx_exhook_schema.erl validate_name/1 (1 to 256)
    "emqx_resource:validate_name/1": {"name": 254},
    "emqx_exhook_schema:validate_name/1": {"name": 256},
    # http(s) URLs: emqx_exhook_schema.erl validate_url/1, emqx_prometheus_schema.erl validate_url/1
    "emqx_exhook_schema:validate_url/1": "http_url",
    "emqx_prometheus_schema:validate_url/1": "http_url",
    # topic lists: at least one, each once (validate_unique_topics/1)
    "emqx_message_transformation_schema:validate_unique_topics/1": "unique_topics",
    "emqx_schema_validation_schema:validate_unique_topics/1": "unique_topics",
    # emqx_rule_engine_schema.erl validate_ssrf_cidrs/1 (emqx_utils_ssrf:compile_cidrs/1)
    "emqx_rule_engine_schema:validate_ssrf_cidrs/1": "cidrs",
    # emqx_otel_schema.erl validate_sample_ratio/1: 0.0 to 1.0
    "emqx_otel_schema:validate_sample_ratio/1": "ratio",
    # emqx_resource_schema.erl health_check_interval_range/1: 1 ms to 1 h
    "emqx_resource_schema:health_check_interval_range/1": {"ms": [1, 3600000]},
    # emqx_schema.erl servers_validator/2: an empty string, or a port out of range (parse_port/1); the rest of
    # parse_servers/2 (schemes, default ports, SSRF) is not modelled
    "fun in emqx_schema:servers_validator/2 (Required=false)": "servers",
    "fun in emqx_schema:servers_validator/2 (Required=true)": "servers",
    # emqx_ai_completion_schema.erl validate_name/1 (emqx_resource:validate_name/1), validate_url/1
    "emqx_ai_completion_schema:validate_name/1": {"name": 254},
    "emqx_ai_completion_schema:validate_url/1": "http_url",
    # emqx_dashboard_sso_oidc.erl validate_issuer_url/1: http(s) with a host
    "emqx_dashboard_sso_oidc:validate_issuer_url/1": "issuer_url",
    # emqx_bridge_http_connector.erl validate_method/1: post, put, get, delete, or a ${placeholder}
    "emqx_bridge_http_connector:validate_method/1": "http_method",
    # emqx_s3_schema.erl part_size_validator/1 (5MB to 5GB), validate_part_size/1 (min <= max; defaults 5mb, 5gb)
    "emqx_s3_schema:part_size_validator/1": {"bytes": [5242880, 5368709120]},
    "emqx_s3_schema:validate_part_size/1": "part_sizes",
    # emqx_schema_validation_schema.erl validate_unique_schema_checks/1: at least one check, no type+schema twice
    "emqx_schema_validation_schema:validate_unique_schema_checks/1": "schema_checks",
    # emqx_bridge_kafka.erl kafka_header_validator/1 (one ${placeholder}), kafka_ext_header_value_validator/1 (one
    # placeholder or plain text; emqx_placeholder:preproc_tmpl/1)
    "emqx_bridge_kafka:kafka_header_validator/1": "placeholder",
    "emqx_bridge_kafka:kafka_ext_header_value_validator/1": "placeholder_or_text",
    # emqx_bridge_mqtt_connector_schema.erl static_clientid_validator/1 (distinct nodes, at least one clientid,
    # distinct clientids) and static_clientid_validate_clientids_length/1 (no empty clientid)
    "emqx_bridge_mqtt_connector_schema:static_clientid_validator/1": "static_clientids",
    "emqx_bridge_mqtt_connector_schema:static_clientid_validate_clientids_length/1": "clientids",
    # emqx_cluster_link_schema.erl validate_topics/1 (emqx_topic:validate/1), validate_no_special_topics/1 (not
    # under $LINK/cluster/), validate_no_redundancy/1 (no filter covered by another: emqx_topic:union/1)
    "emqx_cluster_link_schema:validate_topics/1": "topic_filters",
    "emqx_cluster_link_schema:validate_no_special_topics/1": "link_topics",
    "emqx_cluster_link_schema:validate_no_redundancy/1": "topic_redundancy",
    # exactly one enabled backend: emqx_retainer_schema.erl validate_backends_enabled/1 (the built-in backend; no
    # external backend is registered in 6.2.2) and emqx_ft_schema.erl validator(backend) (the backends given;
    # each backend's enable defaults to true: mnesia_config, common_backend_fields/0)
    "emqx_retainer_schema:validate_backends_enabled/1": {"one_enabled": ["backend"]},
    # emqx_authn_jwt_schema.erl do_check_verify_claims/1 (check_claim_name/1: not exp, iat, nbf or empty) and
    # validate_headers/1 (header names of [-0-9a-zA-Z_ ])
    "emqx_authn_jwt_schema:do_check_verify_claims/1": "claim_names",
    "emqx_authn_jwt_schema:validate_headers/1": "header_names",
    # emqx_authn_kerberos_schema.erl validate_principal/1
    "emqx_authn_kerberos_schema:validate_principal/1": "principal",
    # emqx_bridge_azure_blob_storage_action_schema.erl block_size_validator/1: at most 4000 MiB
    "emqx_bridge_azure_blob_storage_action_schema:block_size_validator/1": {"bytes": [0, 4194304000]},
    # emqx_bridge_pulsar.erl producer_strategy_key_validator/1: key_dispatch needs a message key
    "emqx_bridge_pulsar:producer_strategy_key_validator/1": "dispatch_key",
    # emqx_bridge_s3tables_connector_schema.erl s3tables_arn_validator/1 (parse_arn/1)
    "emqx_bridge_s3tables_connector_schema:s3tables_arn_validator/1": "s3tables_arn",
    # emqx_bridge_snowflake_lib.erl account_id_validator/1: ORGID-ACCOUNTNAME
    "emqx_bridge_snowflake_lib:account_id_validator/1": "account_id",
    # emqx_bridge_sqlserver_connector.erl server_validator/1, emqx_bridge_tdengine_connector.erl
    # validator_server/1: emqx_schema's servers rules
    "emqx_bridge_sqlserver_connector:server_validator/1": "servers",
    "emqx_bridge_tdengine_connector:validator_server/1": "servers",
    # emqx_bridge_tablestore.erl non_empty_list/1, emqx_ds_schema.erl validate_wildcard_thresholds/1
    "emqx_bridge_tablestore:non_empty_list/1": "non_empty",
    "emqx_ds_schema:validate_wildcard_thresholds/1": "non_empty",
    # emqx_bridge_clickhouse_connector.erl fields("config"): a url without a query
    "fun in emqx_bridge_clickhouse_connector:fields/1": "no_query",
    # emqx_bridge_opents.erl fields(action_parameters_data): tags are one ${placeholder} or a non-empty map
    "fun in emqx_bridge_opents:fields/1": "opents_tags",
    # validators on a map of connectors run on each connector (hocon_tconf.erl map_field(?MAP) gives every entry
    # the map's field schema): emqx_bridge_oracle.erl config_validator/1 (a sid or a service_name),
    # emqx_bridge_iotdb_connector_info.erl validate_iotdb_vsn/1 (REST API: v2.0.x or v1.3.x, the table dialect
    # on v2.0.x only; thrift: protocol_v3; defaults restapi, v1.3.x, protocol_v3)
    "emqx_bridge_oracle:config_validator/1": "oracle",
    # emqx_bridge_tdengine_connector_info.erl validate_config/1: username with password, or a token alone
    # (enable and description, which its first clause matches, have defaults: common_fields/0)
    "emqx_bridge_tdengine_connector_info:validate_config/1": "tdengine",
    "emqx_bridge_iotdb_connector_info:validate_iotdb_vsn/1": "iotdb",
    # emqx_bridge_kafka.erl producer_parameters_validator/1: key_dispatch needs a message key; disk buffering
    # takes a fixed topic only
    "emqx_bridge_kafka:producer_parameters_validator/1": "kafka_producer",
    # emqx_bridge_azure_blob_storage_connector_schema.erl account_key_validator/1: base64 (characters only)
    "emqx_bridge_azure_blob_storage_connector_schema:account_key_validator/1": "base64",
    # emqx_retainer_schema.erl check_index_specs/1: non-empty lists of distinct positive integers, each once
    "emqx_retainer_schema:check_index_specs/1": "index_specs",
    # emqx_connector_schema.erl validator/1 runs the 'connectors.validators' injections of 6.2.2:
    # emqx_bridge_disk_log_connector_schema.erl unique_filepath_validator/1,
    # emqx_bridge_mqtt_connector_schema.erl unique_static_clientid_validator/1 and
    # emqx_bridge_snowflake_aggregated_connector_schema.erl authn_mode_selection_validator/1
    "emqx_connector_schema:validator/1": "connectors",
    # emqx_modules_schema.erl rewrite_validator/1: the dest_topic of a rule that is not for subscribe only is a
    # topic name (emqx_topic:validate(name, _): not empty, at most 65535 bytes, no wildcard)
    "emqx_modules_schema:rewrite_validator/1": "rewrite",
    # authenticators: emqx_authn_schema.erl validator/0 runs each provider's validations/0
    # (emqx_authn_http_schema.erl, emqx_authn_scram_restapi_schema.erl: check_ssl_opts/1, check_headers/1)
    "fun in emqx_authn_schema:validator/0": "authn_chain",
}
OWNED = "the chart owns the path (refused as such)"
CIPHERS = "needs the cipher list of EMQX's OTP build (emqx_tls_lib:all_ciphers_set_cached/0)"
SQL = "needs EMQX's rule SQL parser"
PCRE = "needs PCRE (re:compile/1), which Go's regexp does not match"
PARSER = "needs a parser of EMQX's (jq, variform, LDAP DN and filter, Redis command, SQL template, protobuf, Avro)"
NODE_FILE = "reads a file on the node"
TODO = "no model written yet"

# Validators not modelled, with the reason (EMQX checks them at boot). docs/emqx-schema.md lists them too.
NOT_MODELLED: dict[str, str] = {
    "emqx_conf_schema:validate_cookie/1": OWNED,
    "emqx_conf_schema:validate_node_role/1": OWNED,
    "emqx_schema:validate_ciphers/1": CIPHERS,
    "emqx_rule_engine_schema:validate_sql/1": SQL,
    "emqx_schema_validation_schema:validate_sql/1": SQL,
    "emqx_modules_schema:is_re/1": PCRE,
    "emqx_dashboard_sso_oidc:jq_expr_validator/1": PARSER,
    "emqx_authn_cinfo_schema:validate_expressions/1": PARSER,
    "emqx_authn_cinfo_schema:validate_checks/1": PARSER,
    "emqx_ldap:dn_validator/1": PARSER,
    "emqx_ldap:filter_validator/1": PARSER,
    "emqx_bridge_redis:is_command_template_valid/1": PARSER,
    "fun in emqx_authz_redis_schema:cmd/0": PARSER,
    "fun in emqx_authz_postgresql_schema:query/0": PARSER,
    "emqx_schema_registry_schema:protobuf_source_validator/1": PARSER,
    "emqx_connector_aggregator_schema:parquet_avro_schema_validator/1": PARSER,
    "emqx_bridge_s3_upload:validate_key_template/1": PARSER,
    "emqx_bridge_gcp_pubsub_schema_lib:service_account_json_validator/1": PARSER,
    "emqx_authn_kerberos_schema:validate_keytab_file_path/1": NODE_FILE,
    "fun in emqx_authz_file_schema:fields/1": NODE_FILE,
    "emqx_ds_schema:validate_config/1": "needs the defaults of durable_storage.db_groups",
    "emqx_nats_schema:validate_internal_authn/1": "needs NATS NKey and JWT decoding (emqx_nats_nkey)",
    "fun in emqx_authz_http_schema:headers_no_content_type/1": (
        "never refuses: the converter drops content-type first "
        "(emqx_auth_http_utils.erl convert_headers_no_content_type/1)"
    ),
}

# What EMQX parses or reads at each validator of NOT_MODELLED, a short name that the chart's NOTES print beside
# every emqxConfig path that sets a value there ({"unchecked": name} in "c"): the render passes such a value, and
# EMQX may still refuse it at boot. Left out: the chart-owned fields (refused as owned paths) and the validator
# that never refuses.
UNCHECKED: dict[str, str] = {
    "emqx_schema:validate_ciphers/1": "TLS cipher suites of EMQX's OTP build",
    "emqx_rule_engine_schema:validate_sql/1": "rule SQL",
    "emqx_schema_validation_schema:validate_sql/1": "rule SQL",
    "emqx_modules_schema:is_re/1": "PCRE regular expression",
    "emqx_dashboard_sso_oidc:jq_expr_validator/1": "jq expression",
    "emqx_authn_cinfo_schema:validate_expressions/1": "variform expression",
    "emqx_authn_cinfo_schema:validate_checks/1": "variform expressions",
    "emqx_ldap:dn_validator/1": "LDAP DN",
    "emqx_ldap:filter_validator/1": "LDAP filter",
    "emqx_bridge_redis:is_command_template_valid/1": "Redis command template",
    "fun in emqx_authz_redis_schema:cmd/0": "Redis command",
    "fun in emqx_authz_postgresql_schema:query/0": "SQL template",
    "emqx_schema_registry_schema:protobuf_source_validator/1": "protobuf source",
    "emqx_connector_aggregator_schema:parquet_avro_schema_validator/1": "Avro schema",
    "emqx_bridge_s3_upload:validate_key_template/1": "S3 object key template",
    "emqx_bridge_gcp_pubsub_schema_lib:service_account_json_validator/1": "GCP service account JSON",
    "emqx_authn_kerberos_schema:validate_keytab_file_path/1": "keytab file on the node",
    "fun in emqx_authz_file_schema:fields/1": "ACL rules file on the node",
    "emqx_ds_schema:validate_config/1": "durable storage settings against the db_groups defaults",
    "emqx_nats_schema:validate_internal_authn/1": "NATS NKeys and JWTs",
}


# Bounds from the bound variables of a validator factory: emqx_schema.erl mk_validator_bounds/2 and
# emqx_resource_validator.erl limit/3 (by min/2, max/2) and not_empty/1.
FACTORIES = [
    (
        re.compile(r"^fun in emqx_schema:mk_validator_bounds/2 \(Lower=\{(\d+),\w+\}, Upper=\{(\d+),\w+\}\)$"),
        lambda m: {"bytes": [int(m.group(1)), int(m.group(2))]},
    ),
    (
        re.compile(r"^fun in emqx_resource_validator:limit/3 \(Expected=(\d+), Op=>=, Type=(number|int)\)$"),
        lambda m: {"min": int(m.group(1))},
    ),
    (
        re.compile(r"^fun in emqx_resource_validator:limit/3 \(Expected=(\d+), Op==<, Type=(number|int)\)$"),
        lambda m: {"max": int(m.group(1))},
    ),
    (re.compile(r"^fun in emqx_resource_validator:not_empty/1 "), lambda m: "non_empty"),
    # emqx_ft_schema.erl validator(backend) and validator(filename): the data file names both by the function
    # that makes them; only storage and exporter fields (validator(backend)) carry it in 6.2.2
    (re.compile(r"^fun in emqx_ft_schema:validator/1$"), lambda m: {"one_enabled": []}),
]


def validator_check(name: str) -> object | None:
    """The check code of one validator of the data file, or None when it is not modelled."""
    if name in VALIDATORS:
        return VALIDATORS[name]
    for pattern, make in FACTORIES:
        if m := pattern.match(name):
            return make(m)
    return None


def unchecked_code(name: str) -> dict | None:
    """The code that has the NOTES name a value at a validator the chart cannot run, or None."""
    return {"unchecked": UNCHECKED[name]} if name in UNCHECKED else None


# Converters that refuse what their parse fails on, modelled like validators (check codes of emqx-ee.emqxCheck).
# The other converters that can refuse are named in docs/emqx-schema.md.
CONVERTER_CHECKS: dict[str, object] = {
    # emqx_schema.erl latency_histogram_buckets_converter/2: comma-separated durations, each above 0
    "emqx_schema:latency_histogram_buckets_converter/2": "latency_buckets",
}

# Converters that let an array field take a string (comma-separated) or a single item.
SPLITTING_CONVERTERS = {"emqx_schema:converter_ciphers/2"}  # to_comma_separated_binary/1
WRAPPING_CONVERTERS = re.compile(r"^emqx_\w+_schema:ensure_array/2$")  # ensure_array(B, _) -> [B]

LIMITER_STRUCTS = re.compile(r"^emqx_limiter_schema:|^emqx_schema:mqtt_\w+_listener$")
LIMITER_FIELD = re.compile(r"_(rate|burst)$")


# What each check code refuses, for the table of docs/emqx-schema.md (validators_table()).
CHECK_WORDS = {
    "packet_size": "a size over 256MB (268435455 bytes) or under 1 byte",
    "heap_size": "a size over 128GB",
    "keepalive_multiplier": "a number outside 1..65535",
    "tcp_keepalive": "anything but none or Idle,Interval,Probes within 1..72000, 1..750, 1..90",
    "access_rules": "a rule (items split at commas) other than allow/deny with all or an address[/prefix]",
    "server_ssl": "fail_if_no_peer_cert without verify: verify_peer (default verify_none)",
    "listener_ssl": "as server_ssl; enable_crl_check without verify_peer; OCSP stapling without certfile or with "
    "a list of managed_certs",
    "ocsp": "enable_ocsp_stapling without responder_url or issuer_pem",
    "managed_certs": "an empty list",
    "versions": "a version OTP 28 does not list as available; tlsv1.3 with older ones but no tlsv1.2",
    "restricted": "text outside ^[A-Za-z0-9]+[A-Za-z0-9-_]*$",
    "non_empty": "an empty string or list",
    "time_offset": "anything but system, utc or +hh:mm/-hh:mm",
    "tickets_seed": "a seed of 1 to 15 bytes",
    "sample_interval": "outside 1s..60s, or not a divisor of 60s",
    "hwmark_expire": "over 7d",
    "reserved_key": "the map key it names",
    "unique": "a name that two items share",
    "name": "a name outside ^[0-9a-zA-Z][-0-9a-zA-Z_]*$ or over the length",
    "http_url": "a URL whose scheme is not http or https",
    "unique_topics": "no topic, or a topic twice",
    "cidrs": "an item that is not address/prefix",
    "ratio": "outside 0..1 (the percent type refuses it first)",
    "ms": "a duration outside the bounds",
    "servers": "an empty string; a host:port with a port over 65535 (schemes, default ports and SSRF rules not "
    "modelled)",
    "authn_chain": "an http authenticator with an https:// url and ssl.enable not true",
    "latency_buckets": "an item that is no duration above 0",
    "bytes": "a size outside the bounds",
    "issuer_url": "a URL that is not http(s)://host...",
    "http_method": "a method other than post, put, get, delete or one with a ${placeholder}",
    "part_sizes": "min_part_size over max_part_size (defaults 5mb and 5gb)",
    "schema_checks": "no check, or a type and schema twice",
    "placeholder": "anything but a single ${placeholder}",
    "placeholder_or_text": "text mixing ${placeholders} with other text, or empty",
    "static_clientids": "a node twice, no clientid at all, or a clientid twice",
    "clientids": "an empty clientid",
    "topic_filters": "an invalid topic filter (empty, over 65535 bytes, # not last, + or # inside a level)",
    "link_topics": "a filter under $LINK/cluster/",
    "topic_redundancy": "a filter another one covers (or the same twice)",
    "one_enabled": "no enabled backend, or more than one (each enabled by default)",
    "claim_names": "a claim named exp, iat, nbf or an empty name",
    "header_names": "a header name with characters outside [-0-9a-zA-Z_ ]",
    "principal": "a principal that is not service/host[@REALM]",
    "dispatch_key": "strategy key_dispatch with an empty message.key",
    "s3tables_arn": "an ARN not of the form arn:aws:s3tables:<region>:<account id>:bucket/<bucket>",
    "account_id": "an account identifier without a -",
    "no_query": "a URL with a query",
    "opents_tags": "text other than one ${placeholder}, or an empty map",
    "oracle": "a connector with neither sid nor service_name",
    "iotdb": "an IoTDB version or protocol the driver does not take",
    "kafka_producer": "key_dispatch with an empty message.key; disk buffering with a ${placeholder} topic",
    "base64": "characters outside base64",
    "index_specs": "an empty spec, a non-positive or repeated index, a spec twice",
    "connectors": "two disk_log connectors on one filepath, a static clientid two mqtt connectors use on one "
    "server, a snowflake connector with both password and private_key_path",
    "tdengine": "a connector without username and password or a token alone",
    "rewrite": "a dest_topic that is no topic name (empty, over 65535 bytes, a wildcard) outside subscribe rules",
    "min": "a value under the bound (the type's bound refuses it first)",
    "max": "a value over the bound (the type's bound refuses it first)",
}


def validator_fields(data: dict) -> dict[str, list[str]]:
    """Every validator of the data file with the "<struct>.<field>" names (root fields bare) that carry it."""
    where: dict[str, list[str]] = {}

    def walk(node: object, at: str) -> None:
        if isinstance(node, dict):
            for v in node.get("validator", []):
                where.setdefault(v, []).append(at)
            for key, child in node.items():
                if key == "fields":
                    for name, field in child.items():
                        walk(field, f"{at}.{name}" if at else name)
                elif isinstance(child, dict | list) and key != "validator":
                    walk(child, at)
        elif isinstance(node, list):
            for child in node:
                walk(child, at)

    walk(data["schema"], "")
    for name, struct in data["structs"].items():
        walk(struct, name)
    return where


def validators_table(data: dict) -> str:
    """The Markdown table of every validator of the data file: its check code and what it refuses, or why it is
    not modelled, and the fields it sits on (docs/emqx-schema.md holds it; a test compares)."""
    where = validator_fields(data)
    rows = ["| validator | how the chart models it | fields (first, count) |", "|---|---|---|"]
    for v in sorted(where):
        check = validator_check(v)
        if check is None:
            how = f"not modelled: {NOT_MODELLED.get(v, '?')}"
            if v in UNCHECKED:
                how += f"; NOTES name each field set here (`{json.dumps(unchecked_code(v), separators=(',', ':'))}`)"
        else:
            code = check if isinstance(check, str) else next(iter(check))
            how = f"`{json.dumps(check, separators=(',', ':'))}`: refuses {CHECK_WORDS[code]}"
        rows.append(f"| `{v}` | {how} | `{sorted(where[v])[0]}` ({len(where[v])}) |")
    return "\n".join(rows) + "\n"


def app_version() -> str:
    for line in (CHART / "Chart.yaml").read_text().splitlines():
        if line.startswith("appVersion:"):
            return line.split(":", 1)[1].strip().strip("\"'")
    raise SystemExit("Chart.yaml has no appVersion")


def data_file() -> Path:
    return Path(__file__).resolve().parent / "data" / f"emqx-schema-{app_version()}.json"


def compact(data: dict) -> dict:
    """The compact schema of the module docstring: {"v": version, "s": [struct, ...]}."""
    structs = data["structs"]
    order: list[str] = []
    index: dict[str, int] = {}

    def struct_index(name: str) -> int:
        if name not in index:
            index[name] = len(order)
            order.append(name)
        return index[name]

    def convert(node: dict, struct: str = "", field: str = "") -> object:
        kind = node["kind"]
        if kind == "ref":
            return struct_index(node["name"])
        if kind == "map":
            return {"m": convert(node["value"])}
        if kind == "array":
            return {"a": convert(node["item"])}
        if kind == "union":
            return {"u": [convert(m) for m in node["members"]]}
        if kind == "enum":
            return {"e": node["values"]}
        if kind == "singleton":
            return {"v": str(node["value"])}
        if kind == "scalar":
            if (struct, field) in ALIAS_CHECKS:
                return ALIAS_CHECKS[(struct, field)]
            if node["type"] == "string" and LIMITER_STRUCTS.search(struct) and LIMITER_FIELD.search(field):
                return "r" if field.endswith("_rate") else "u"
            if node["type"] == "integer" and ("min" in node or "max" in node):
                return {"i": [node.get("min"), node.get("max")]}
            return SCALARS.get(node["type"], "s")
        raise SystemExit(f"{struct}.{field}: no compact form for node kind {kind!r}")

    checks: dict[str, list] = {}

    def fields(struct: dict, name: str, at: int) -> dict:
        out: dict = {}
        for field, node in sorted(struct["fields"].items()):
            kind = convert(node, name, field)
            converters = node.get("converter", [])
            if isinstance(kind, dict) and "a" in kind:
                if SPLITTING_CONVERTERS.intersection(converters):
                    kind = {**kind, "j": ","}
                elif any(WRAPPING_CONVERTERS.match(c) for c in converters):
                    kind = {**kind, "w": 1}
            if node.get("deprecated"):
                kind = {"x": kind}
            validators = node.get("validator", [])
            codes = [c for c in (validator_check(v) or unchecked_code(v) for v in validators) if c is not None]
            codes += [CONVERTER_CHECKS[c] for c in converters if c in CONVERTER_CHECKS]
            for alias in [field, *node.get("aliases", [])]:
                out[alias] = kind
                if codes:
                    checks[f"{at}.{alias}"] = codes
        return out

    # the roots are struct 0, the others follow in the order their references were handed out (shifted by one)
    table = [fields(data["schema"], "", 0)]
    done = 0
    while done < len(order):
        name = order[done]
        table.append(fields(structs[name], name, done + 1))
        done += 1

    # struct indexes were handed out from 0 while the roots took slot 0: shift every reference by one.
    def shift(kind: object) -> object:
        if isinstance(kind, int):
            return kind + 1
        if isinstance(kind, dict):
            return {
                k: (shift(v) if k in ("m", "a", "x") else [shift(m) for m in v] if k == "u" else v)
                for k, v in kind.items()
            }
        return kind

    # the fields each struct needs (shifted like the references: the roots are 0, struct order[i] is i + 1)
    needs = needed_fields(data)
    needed = {str(i): needs[name] for i, name in enumerate([""] + order) if needs.get(name)}
    return {
        "v": data["emqx_version"],
        "s": [{f: shift(k) for f, k in s.items()} for s in table],
        "c": checks,
        "q": needed,
    }


def needed_fields(data: dict) -> dict[str, list]:
    """Per struct ("" for the roots), the fields hocon refuses to leave out once the struct has a value, in the
    data file's field order: each is a name, or [name, alias...] when the field has aliases.

    hocon_tconf.erl, as EMQX calls it at boot (emqx_config.erl check_config/3 passes no `required` option, so
    is_required/2 falls back to false): a field whose schema says `required => true` and that has no `default`
    (resolve_field_value/3 fills a default in first) is refused when absent (validate/5, or do_map/4 for a
    struct). A field that is not required and has no default is checked with no value: do_map/4 then walks the
    fields of its struct with no values (unless it says `required => {false, recursively}`), and a union first
    picks its first member (select_union_members/3), so such a field is needed when that struct needs a field.
    Deprecated fields are deleted unchecked (map_fields/4)."""
    structs = data["structs"]
    memo: dict[str, list] = {}

    def struct_of(node: dict) -> str | None:
        kind = node["kind"]
        if kind == "ref":
            return node["name"]
        if kind == "union" and node["members"]:
            return struct_of(node["members"][0])
        return None

    def needs(name: str) -> list:
        if name not in memo:
            memo[name] = []  # a cycle back to a struct being looked at adds nothing
            fields = data["schema"]["fields"] if name == "" else structs[name]["fields"]
            out: list = []
            for field, node in fields.items():
                if node.get("deprecated") or node.get("has_default"):
                    continue
                required = node.get("required")
                inner = struct_of(node)
                if required is True or (required != "{false, recursively}" and inner is not None and needs(inner)):
                    out.append([field, *node["aliases"]] if node.get("aliases") else field)
            memo[name] = out
        return memo[name]

    for name in ["", *structs]:
        needs(name)
    return memo


def render() -> tuple[str, str]:
    """The text of templates/_emqx_schema.tpl and of files/emqx-schema.json."""
    data = json.loads(data_file().read_text())
    source = data["source"]
    text = json.dumps(compact(data), separators=(",", ":"), sort_keys=True)
    template = (
        f"{{{{- /* Generated by tools/emqx_schema/roots.py from {data_file().relative_to(ROOT)}\n"
        f"(EMQX {data['emqx_version']}, {source['repository']} {source['ref']} {source['commit']}): the\n"
        "compact schema described in that script, in files/emqx-schema.json. Do not edit. */ -}}\n"
        '{{- define "emqx-ee.emqxSchema" -}}\n'
        '{{- .Files.Get "files/emqx-schema.json" -}}\n'
        "{{- end -}}\n\n"
        '{{- define "emqx-ee.emqxSchemaVersion" -}}\n'
        f"{data['emqx_version']}\n"
        "{{- end -}}\n"
    )
    return template, text + "\n"


def main() -> int:
    if "--validators-table" in sys.argv[1:]:
        print(validators_table(json.loads(data_file().read_text())), end="")
        return 0
    stale = []
    for target, text in zip((TARGET, TARGET_JSON), render(), strict=True):
        if "--check" in sys.argv[1:]:
            if not target.exists() or target.read_text() != text:
                stale.append(target)
        else:
            target.write_text(text)
            print(f"wrote {target.relative_to(ROOT)} ({len(text.encode())} bytes)")
    for target in stale:
        print(f"{target.relative_to(ROOT)} is stale: run tools/emqx_schema/roots.py", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
