"""emqxConfig values that pass their type but that EMQX 6.2.2 would still refuse at boot are refused at render, with
the path named: the validators of EMQX's field schemas (tools/emqx_schema/roots.py VALIDATORS, checked by
emqx-ee.emqxCheck in files/emqx-checks.tpl), the converters that refuse what they cannot parse, the whole-config
validations (emqx-ee.rootChecks), map keys a validator refuses, arrays EMQX also takes as a string or a single
item, and the items of lists of struct unions checked against the member EMQX picks. docs/emqx-schema.md lists
every validator of the data file with how it is modelled; the tests below keep that list, the generator's table
and the templates in step.

As in test_emqx_config_check.py, each table is one render: the bad values together (which also proves that every
message comes at once), the good ones together."""

from __future__ import annotations

import json
import re
import shutil
import sys
from typing import Any

import pytest

from harness.emqx_config import parse_value, schema
from harness.helm import HelmError, chart_with_line, render
from harness.tools import CHART, ROOT

pytestmark = pytest.mark.unit

CHECKS = CHART / "files" / "emqx-checks.tpl"

sys.path.insert(0, str(ROOT / "tools" / "emqx_schema"))
import roots  # noqa: E402  (the generator's tables: a script folder, not a package)

VERSION = schema()["emqx_version"]


def LINK(topics: list[str]) -> list[dict[str, Any]]:  # noqa: N802 - reads as a constant in the tables
    """A cluster link with these topic filters."""
    return [{"name": "l1", "server": "peer:11883", "clientid": "c", "topics": topics}]


HTTP_AUTHN = {"mechanism": "password_based", "backend": "http", "method": "post"}
# Fields EMQX requires without a default (emqx-ee.requiredChecks), given so that each row is refused by its
# validator only: a schema validation's (emqx_schema_validation_schema.erl fields(validation)), an S3 upload's
# parameters (emqx_bridge_s3_upload.erl), a disk_log connector's (emqx_bridge_disk_log_connector_schema.erl).
# The part sizes belong to the aggregated upload: without `mode: aggregated` EMQX picks the direct upload
# (emqx_schema.erl mkunion/3 with its default), which has no such fields.
VALIDATION = {"failure_action": "drop", "strategy": "all_pass", "checks": [{"type": "json", "schema": "a"}]}
S3_UPLOAD = {"mode": "aggregated", "bucket": "b", "key": "k/${clientid}", "aggregation": {}}
DISK_LOG = {"max_file_number": 10, "max_file_size": "10MB"}

# (check code of emqx-ee.emqxCheck / rootChecks, emqxConfig key, value, what the message says). Values pass their
# type check: only the validator refuses them.
REFUSED = [
    ("packet_size", "mqtt.max_packet_size", "300MB", "mqtt.max_packet_size: EMQX takes 1 byte to 256MB"),
    ("heap_size", "force_shutdown.max_heap_size", "200GB", "force_shutdown.max_heap_size: EMQX takes at most 128GB"),
    ("keepalive_multiplier", "mqtt.keepalive_multiplier", 0.5, "mqtt.keepalive_multiplier: EMQX takes a number from 1"),
    ("tcp_keepalive", "listeners.tcp.default.tcp_options.keepalive", "1,2", 'not "1,2"'),
    ("access_rules", "listeners.tcp.default.access_rules", ["allow all, deny 10.0.0.0/33"],
     '"deny 10.0.0.0/33" is not'),
    ("access_rules", "listeners.ws.default.access_rules", ["allow"], '"allow" is not an access rule'),
    ("server_ssl", "listeners.wss.default.ssl_options.fail_if_no_peer_cert", True, "listeners.wss.default.ssl_options: "
     "fail_if_no_peer_cert is true, so EMQX needs verify: verify_peer here, not verify_none"),
    ("listener_ssl", "listeners.ssl.default.ssl_options.enable_crl_check", True, "enable_crl_check is true"),
    ("listener_ssl", "listeners.ssl.default.ssl_options.ocsp.enable_ocsp_stapling", True, "so EMQX needs certfile"),
    ("ocsp", "listeners.ssl.other", {"bind": 18883, "ssl_options": {"certfile": "/c.pem", "ocsp": {
        "enable_ocsp_stapling": True, "issuer_pem": "/ca.pem"}}},
     "listeners.ssl.other.ssl_options.ocsp: enable_ocsp_stapling is true, so EMQX needs responder_url"),
    ("managed_certs", "listeners.ssl.default.ssl_options.managed_certs", [], "at least one bundle"),
    ("versions", "listeners.ssl.default.ssl_options.versions", ["tlsv1.3", "tlsv1.1"], "unless tlsv1.2"),
    ("versions", "rpc.tls_versions", ["tlsv1.4"],
     'rpc.tls_versions: EMQX knows tlsv1.3, tlsv1.2, tlsv1.1, tlsv1, not "tlsv1.4"'),
    ("restricted", "mqtt.client_attrs_init", [{"expression": "username", "set_as_attr": "a.b"}],
     'mqtt.client_attrs_init[0].set_as_attr: EMQX takes letters, digits'),
    ("non_empty", "authorization.sources", [{"type": "http", "method": "post", "url": ""}],
     "authorization.sources[0].url: EMQX refuses an empty value"),
    ("time_offset", "log.console.time_offset", "+8", 'log.console.time_offset: EMQX takes system, utc'),
    ("tickets_seed", "node.tls_stateless_tickets_seed", "short", "at least 16 bytes here (or none), not 5"),
    ("sample_interval", "dashboard.sample_interval", "7s", "a divisor of 60s, not 7s"),
    ("hwmark_expire", "dashboard.hwmark_expire_time", "8d", "at most 7d here, not 8d"),
    ("reserved_key", "schema_registry.schemas.sparkplugb", {"type": "json", "source": "{}"},
     'schema_registry.schemas.sparkplugb: EMQX keeps the name "sparkplugb"'),
    ("unique", "message_transformation.transformations",
     [{"name": "t", "topics": ["a"], "failure_action": "drop"},
      {"name": "t", "topics": ["b"], "failure_action": "drop"}],
     'each name once, and "t" comes twice'),
    ("unique_topics", "schema_validation.validations", [{"name": "v", "topics": ["a", "a"], **VALIDATION}],
     'each topic filter once, and "a" comes twice'),
    ("name", "exhook.servers", [{"name": "a b", "url": "http://hook:9000"}], 'not "a b"'),
    ("name", "schema_validation.validations", [{"name": "v w", "topics": ["b"], **VALIDATION}], 'not "v w"'),
    ("http_url", "prometheus.push_gateway.url", "pushgw:9091", 'an http:// or https:// URL here, not "pushgw:9091"'),
    ("cidrs", "rule_engine.ssrf.deny_cidrs", ["10.0.0.0/8", "banana"], '"banana" is not a CIDR'),
    ("ms", "connectors.http.c1.resource_opts.health_check_interval", "2h", "1ms to 3600000ms here, not 2h"),
    ("servers", "authentication",
     [{"mechanism": "password_based", "backend": "mysql", "server": "db:70000", "database": "d", "query": "q"}],
     'the port of "db:70000" is over 65535'),
    ("authn_chain", "listeners.tcp.default.authentication", [{**HTTP_AUTHN, "url": "https://auth/x"}],
     "listeners.tcp.default.authentication[0]: the url is https://, so EMQX needs ssl.enable: true"),
    ("latency_buckets", "prometheus.latency_buckets", "10ms, 0s", '"0s" is not a duration above 0'),
    ("bytes", "trace.max_file_size", "1KB", "trace.max_file_size: EMQX takes 102400 to 10737418240 bytes"),
    ("issuer_url", "dashboard.sso.oidc.issuer", "https://", 'an http:// or https:// URL with a host here, not'),
    ("http_method", "authorization.sources", [{"type": "http", "method": "get", "url": "http://a", "request": {
        "method": "patch"}}], 'sources[0].request.method: EMQX takes post, put, get, delete or a ${placeholder}'),
    ("part_sizes", "actions.s3.up.parameters", {"min_part_size": "3gb", "max_part_size": "2gb", **S3_UPLOAD},
     "min_part_size (3221225472 bytes) is over max_part_size (2147483648 bytes)"),
    ("schema_checks", "schema_validation.validations",
     [{"name": "s1", "topics": ["t"], "failure_action": "drop", "strategy": "all_pass",
       "checks": [{"type": "json", "schema": "a"}, {"type": "json", "schema": "a"}]}],
     "each type and schema once, and json:a comes twice"),
    ("placeholder", "actions.kafka_producer.k1.parameters.kafka_headers", "props", 'one placeholder here, such as'),
    ("placeholder_or_text", "actions.kafka_producer.k2.parameters.kafka_ext_headers",
     [{"kafka_ext_header_key": "k", "kafka_ext_header_value": "a${b}"}], 'one placeholder (${foo}) or plain text here'),
    ("static_clientids", "connectors.mqtt.m1.static_clientids",
     [{"node": "emqx@a", "ids": [{"clientid": "c1"}]}, {"node": "emqx@a", "ids": [{"clientid": "c2"}]}],
     "connectors.mqtt.m1.static_clientids: EMQX needs each node once"),
    ("clientids", "connectors.mqtt.m2.static_clientids", [{"node": "emqx@a", "ids": [{"clientid": ""}]}],
     "EMQX refuses an empty clientid"),
    ("topic_filters", "cluster.links", LINK(["a/#", "x/+/y#"]), '"x/+/y#" is not a topic filter EMQX takes'),
    ("link_topics", "cluster.links", LINK(["$LINK/cluster/x"]), "EMQX keeps topics under $LINK/cluster/"),
    ("topic_redundancy", "cluster.links", LINK(["a/#", "a/b"]), '"a/b" is covered by "a/#"'),
    ("one_enabled", "retainer.backend.enable", False, "retainer: EMQX needs exactly one enabled backend here, not 0"),
    ("one_enabled", "file_transfer.storage.local.exporter.s3", {"host": "s3", "bucket": "b", "port": 9000},
     "not 2 (local, s3"),
    ("bytes", "actions.s3.up2.parameters.max_part_size", "1mb", "EMQX takes 5242880 to 5368709120 bytes here, not 1mb"),
    ("claim_names", "listeners.wss.default.authentication",
     [{"mechanism": "jwt", "algorithm": "hmac-based", "secret": "k", "use_jwks": False, "verify_claims": {"exp": "1"}}],
     'EMQX checks the claim "exp" itself'),
    ("header_names", "listeners.ssl.default.authentication",
     [{"mechanism": "jwt", "use_jwks": True, "endpoint": "https://idp/jwks", "headers": {"x:y": "v"}}],
     'header names of letters, digits, -, _ and spaces, not "x:y"'),
    ("principal", "listeners.tcp.default.authentication", [{"mechanism": "gssapi", "backend": "kerberos",
     "principal": "mqtt"}], 'EMQX takes service/host or service/host@REALM here, not "mqtt"'),
    ("dispatch_key", "actions.pulsar.p1.parameters",
     {"strategy": "key_dispatch", "message": {"key": ""}, "pulsar_topic": "t"},
     "actions.pulsar.p1.parameters: strategy key_dispatch needs a message.key"),
    ("s3tables_arn", "connectors.s3tables.c1.s3tables_arn", "arn:aws:s3:::b", 'not "arn:aws:s3:::b"'),
    ("account_id", "connectors.snowflake.c1.account", "acct", 'EMQX takes ORGID-ACCOUNTNAME here, not "acct"'),
    ("no_query", "connectors.clickhouse.c1.url", "http://ch:8123/?db=x", "a URL without a query"),
    ("opents_tags", "actions.opents.o1.parameters.data", [{"metric": "m", "tags": "host", "value": "1"}],
     "one ${placeholder} or a map of at least one tag"),
    ("oracle", "connectors.oracle.o1", {"server": "db:1521", "username": "u"},
     "connectors.oracle.o1: EMQX needs sid or service_name"),
    ("iotdb", "connectors.iotdb.i1", {"base_url": "http://iotdb:18080", "iotdb_version": "v1.1.x"},
     "connectors.iotdb.i1: EMQX's REST API driver takes iotdb_version v2.0.x or v1.3.x, not v1.1.x"),
    ("iotdb", "connectors.iotdb.i2", {"driver": "thrift", "server": "iotdb:6667", "protocol_version": "protocol_v2"},
     "thrift driver takes protocol_v3 only"),
    ("rewrite", "rewrite", [{"action": "publish", "source_topic": "a/#", "re": "^a/(.+)$", "dest_topic": "b/#"}],
     'rewrite[0].dest_topic: EMQX takes a topic name here (not empty, no + or #), not "b/#"'),
    ("tdengine", "connectors.tdengine.t1", {"server": "td:6041", "username": "root"},
     "connectors.tdengine.t1: EMQX takes username with password, or a token alone"),
    ("kafka_producer", "actions.kafka_producer.k3.parameters", {"topic": "t/${clientid}", "buffer": {"mode": "disk"}},
     "EMQX refuses buffer.mode disk with a topic that has ${placeholders}"),
    ("base64", "connectors.azure_blob_storage.a1.account_key", "not base64!", "EMQX takes a base64 value here"),
    ("index_specs", "retainer.backend.index_specs", [[1, 2], [1, 2]], "EMQX needs each index spec once"),
    ("connectors", "connectors.disk_log", {"d1": {"filepath": "/var/log/a", **DISK_LOG},
                                            "d2": {"filepath": "/var/log/a", **DISK_LOG}},
     "connectors.disk_log: d1, d2 write to the same filepath"),
    ("connectors", "connectors.mqtt", {
        "n1": {"server": "peer:1883", "static_clientids": [{"node": "emqx@a", "ids": [{"clientid": "c"}]}]},
        "n2": {"server": "peer:1883", "static_clientids": [{"node": "emqx@b", "ids": [{"clientid": "c"}]}]},
    }, "connectors.mqtt: n1, n2 use the same static clientid on one server"),
    # whole-config validations
    ("watermark", "sysmon.os.cpu_low_watermark", "90%", "sysmon.os.cpu_low_watermark and sysmon.os.cpu_high_watermark"),
    ("watermark", "sysmon.vm.process_high_watermark", "50%", "(60% is not below 50%"),
    ("license_watermark", "license.connection_low_watermark", "85%", "85% is not below 80%"),
    ("license_timezone", "license.high_watermark_timezone", "+25:00", 'not "+25:00"'),
    ("durable_sessions", "durable_storage.sessions.backend", "builtin_local",
     "durable_storage.sessions.backend: builtin_local needs the singleton discovery strategy"),
    # items of lists of struct unions: the member EMQX picks, by type, then mechanism and backend
    ("union", "authorization.sources", [{"type": "file", "path": "/x", "url": "http://x"}],
     'EMQX 6.2.2 has no field "url" under authorization.sources[0]'),
    ("union", "authentication", [{"mechanism": "password_based", "backend": "built_in_database", "url": "http://x"}],
     'has no field "url" under authentication[0]'),
    ("union", "listeners.ssl.default.authentication", [{"mechanism": "password_based", "backend": "mysqll"}],
     'authentication[0].backend: EMQX 6.2.2 takes one of built_in_database, http, ldap'),
    ("union", "listeners.ws.default.authentication", [{"backend": "http"}], "authentication[0] has no mechanism"),
    # arrays: a list only, unless the field's converter takes a string or a single item
    ("list", "authorization.sources", {"type": "file", "path": "/x"}, "takes a list here"),
    ("list", "listeners.wss.default.access_rules", "allow all", "takes a list here"),
]  # fmt: skip
# what a row needs beside it, by check code: the durable sessions check reads durable_sessions.enable; a local
# exporter beside the s3 one makes two enabled backends
SETUP = {
    "durable_sessions": {"durable_sessions.enable": True},
    "one_enabled": {"file_transfer.storage.local.exporter.local.enable": True},
}


# The fields EMQX requires beside a row's key, for rows that set one field of a struct (keyed by the row's key);
# the OIDC secret comes from a Secret (SECRETS), as the chart asks for secrets.
BESIDE = {
    "connectors.http.c1.resource_opts.health_check_interval": {"connectors.http.c1.url": "http://h:80"},
    "dashboard.sso.oidc.issuer": {"dashboard.sso.oidc.backend": "oidc", "dashboard.sso.oidc.clientid": "c"},
    "actions.s3.up.parameters": {"actions.s3.up.connector": "s3c"},
    "actions.s3.up2.parameters.max_part_size": {
        "actions.s3.up2.connector": "s3c",
        "actions.s3.up2.parameters.bucket": "b",
        "actions.s3.up2.parameters.key": "k",
        "actions.s3.up2.parameters.mode": "aggregated",
        "actions.s3.up2.parameters.aggregation": {},
    },
    "actions.kafka_producer.k1.parameters.kafka_headers": {
        "actions.kafka_producer.k1.connector": "kc", "actions.kafka_producer.k1.parameters.topic": "t",
    },
    "actions.kafka_producer.k2.parameters.kafka_ext_headers": {
        "actions.kafka_producer.k2.connector": "kc", "actions.kafka_producer.k2.parameters.topic": "t",
    },
    "actions.kafka_producer.k3.parameters": {"actions.kafka_producer.k3.connector": "kc"},
    "actions.pulsar.p1.parameters": {"actions.pulsar.p1.connector": "pc"},
    "actions.opents.o1.parameters.data": {"actions.opents.o1.connector": "oc"},
    "connectors.mqtt.m1.static_clientids": {"connectors.mqtt.m1.server": "peer:1883"},
    "connectors.mqtt.m2.static_clientids": {"connectors.mqtt.m2.server": "peer:1883"},
    "connectors.s3tables.c1.s3tables_arn": {"connectors.s3tables.c1.s3_client": {}},
    "connectors.snowflake.c1.account": {
        "connectors.snowflake.c1.dsn": "snowflake", "connectors.snowflake.c1.server": "orgid-account.example.com",
    },
    "connectors.clickhouse.c1.url": {"connectors.clickhouse.c1.database": "db"},
    "connectors.azure_blob_storage.a1.account_key": {"connectors.azure_blob_storage.a1.account_name": "acct"},
}  # fmt: skip
SECRETS = [
    {"name": "EMQX_DASHBOARD__SSO__OIDC__SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "oidc"}}},
]


def _config(rows: list[tuple]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for row in rows:
        config.update(SETUP.get(row[0], {}))
        config.update(BESIDE.get(row[1], {}))
    for _code, key, value, _says in rows:
        if key in config and isinstance(config[key], list):
            config[key] = config[key] + value
        else:
            config[key] = value
    return config


@pytest.fixture(scope="module")
def refused(helm4) -> str:
    with pytest.raises(HelmError) as caught:
        render(helm4, {"emqxConfig": _config(_unique_keys(REFUSED)), "extraEnv": SECRETS})
    return caught.value.stderr


def _unique_keys(rows: list[tuple]) -> list[tuple]:
    """The rows whose key no earlier row sets (one render cannot hold a key twice)."""
    seen: set[str] = set()
    out = []
    for row in rows:
        if row[1] not in seen:
            seen.add(row[1])
            out.append(row)
    return out


@pytest.mark.parametrize("code, key, value, says", REFUSED, ids=[f"{r[0]}:{r[1]}" for r in REFUSED])
def test_a_value_emqx_validators_refuse_is_refused_with_its_path(helm4, refused, code, key, value, says):
    if (code, key, value, says) in _unique_keys(REFUSED):
        said = refused
    else:
        with pytest.raises(HelmError) as caught:
            render(helm4, {"emqxConfig": _config([(code, key, value, says)]), "extraEnv": SECRETS})
        said = caught.value.stderr
    assert says in said, said
    assert "emqxConfig." in said


def test_helm_3_gives_the_same_messages(other_helm, refused):
    rows = _unique_keys(REFUSED)
    with pytest.raises(HelmError) as caught:
        render(other_helm, {"emqxConfig": _config(rows), "extraEnv": SECRETS})
    assert caught.value.stderr == refused


def test_every_check_code_has_a_refused_row():
    """Each check the generator hands the templates is proven by a row above (the bounds that repeat the type's
    are proven redundant instead, below)."""
    codes = set()
    for code in [*roots.VALIDATORS.values(), *roots.CONVERTER_CHECKS.values()]:
        codes.add(code if isinstance(code, str) else next(iter(code)))
    covered = {row[0] for row in REFUSED}
    assert codes - covered - {"min", "max", "ratio"} == set()


# Valid variants of each class: one render, which must succeed.
ACCEPTED = {
    "mqtt.max_packet_size": "256MB",  # convert_max_packet_size/2 takes it as the maximum
    "zones.a.mqtt.max_packet_size": 268435455,
    "mqtt.keepalive_multiplier": 1.5,
    "force_shutdown.max_heap_size": "128GB",
    "listeners.tcp.default.tcp_options.keepalive": "240, 30, 5",
    "listeners.ws.default.tcp_options.keepalive": "none",
    "listeners.tcp.default.access_rules": ["allow 10.0.0.0/8, allow fd00::/8", "allow 192.168.1.1", "deny all"],
    "listeners.ssl.default.ssl_options.fail_if_no_peer_cert": True,
    "listeners.ssl.default.ssl_options.verify": "verify_peer",
    "listeners.ssl.default.ssl_options.enable_crl_check": True,
    "listeners.ssl.default.ssl_options.versions": ["tlsv1.3", "tlsv1.2"],
    "listeners.ssl.default.ssl_options.ciphers": "TLS_AES_256_GCM_SHA384,TLS_AES_128_GCM_SHA256",
    "listeners.wss.default.ssl_options.versions": ["tlsv1.3"],
    "mqtt.client_attrs_init": [{"expression": "username", "set_as_attr": "tenant_1"}],
    "log.console.time_offset": "+08:00",
    "log.file.default.time_offset": "utc",
    "node.tls_stateless_tickets_seed": "sixteen-bytes-ok",
    "dashboard.sample_interval": "15s",
    "dashboard.hwmark_expire_time": "7d",
    "schema_registry.schemas.myschema": {"type": "json", "source": "{}"},
    "exhook.servers": [{"name": "hook-1", "url": "https://hook:9000"}],
    "prometheus.push_gateway.url": "http://pushgw:9091",
    "prometheus.latency_buckets": "10ms, 100ms, 1s",
    "rule_engine.ssrf.deny_cidrs": ["10.0.0.0/8", "fd00::/8"],
    "connectors.http.c1.resource_opts.health_check_interval": "1h",
    "message_transformation.transformations": [
        {"name": "t1", "topics": "t/#", "failure_action": "drop"},
        {"name": "t2", "topics": ["a", "b"], "failure_action": "ignore"},
    ],
    "trace.max_file_size": "10GB",
    "sysmon.os.cpu_low_watermark": "70%",
    "sysmon.os.cpu_high_watermark": 0.9,
    "license.connection_low_watermark": "60%",
    "license.high_watermark_timezone": "-0230",
    "durable_sessions.enable": True,
    "durable_storage.sessions.backend": "builtin_raft",
    "dashboard.sso.oidc.issuer": "https://idp.example.com/realms/x",
    "actions.s3.up.parameters": {"min_part_size": "10mb", "max_part_size": "1gb", **S3_UPLOAD},
    "actions.kafka_producer.k1.parameters.kafka_headers": "${pub_props}",
    "actions.kafka_producer.k2.parameters.kafka_ext_headers": [
        {"kafka_ext_header_key": "a", "kafka_ext_header_value": "${clientid}"},
        {"kafka_ext_header_key": "b", "kafka_ext_header_value": "plain"},
    ],
    "connectors.tdengine.t1": {"server": "td:6041", "username": "root"},
    "rewrite": [
        {"action": "publish", "source_topic": "a/#", "re": "^a/(.+)$", "dest_topic": "b/$1"},
        {"action": "subscribe", "source_topic": "c/#", "re": "^c/(.+)$", "dest_topic": "d/#"},
    ],
    "connectors.disk_log": {"d1": {"filepath": "/var/log/a", **DISK_LOG}, "d2": {"filepath": "/var/log/b", **DISK_LOG}},
    "connectors.mqtt.m1.static_clientids": [
        {"node": "emqx@a", "ids": [{"clientid": "c1"}]},
        {"node": "emqx@b", "ids": [{"clientid": "c2"}]},
    ],
    "cluster.links": LINK(["a/#", "b/+/c", "$SYS/x"]),
    "retainer.backend.enable": True,
    "retainer.backend.index_specs": [[1, 2], [2, 3, 4]],
    "connectors.oracle.o1": {"server": "db:1521", "username": "u", "service_name": "XE"},
    "connectors.iotdb.i1": {
        "base_url": "http://iotdb:18080",
        "iotdb_version": "v2.0.x",
        "sql": {"dialect": "table", "database": "d"},
    },
    "actions.kafka_producer.k3.parameters": {"topic": "fixed", "buffer": {"mode": "disk"}},
    "connectors.azure_blob_storage.a1.account_key": "c2VjcmV0",
    "actions.pulsar.p1.parameters": {
        "strategy": "key_dispatch",
        "message": {"key": "${clientid}"},
        "pulsar_topic": "t",
    },
    "connectors.s3tables.c1.s3tables_arn": "arn:aws:s3tables:eu-west-1:123456789012:bucket/my-bucket",
    "connectors.snowflake.c1.account": "orgid-account",
    "connectors.clickhouse.c1.url": "http://ch:8123",
    "actions.opents.o1.parameters.data": [{"metric": "m", "tags": "${tags}", "value": "1"}],
    "listeners.ws.default.authentication": [
        {
            "mechanism": "jwt",
            "algorithm": "hmac-based",
            "secret": "k",
            "use_jwks": False,
            "verify_claims": {"sub": "${clientid}"},
        },
    ],
    "listeners.wss.default.authentication": [
        {"mechanism": "gssapi", "backend": "kerberos", "principal": "mqtt/broker.example.com@EXAMPLE.COM"},
    ],
    "file_transfer.storage.local.exporter.s3": {"host": "s3", "bucket": "b", "port": 9000},
    "file_transfer.storage.local.exporter.local.enable": False,
    # a single authenticator for a list (emqx_authn_schema.erl ensure_array/2), picked by mechanism and backend
    "authentication": {**HTTP_AUTHN, "url": "https://auth/x", "ssl": {"enable": True}},
    "listeners.tcp.default.authentication": [
        {"mechanism": "password_based", "backend": "built_in_database", "user_id_type": "clientid"},
        {
            "mechanism": "jwt",
            "use_jwks": False,  # EMQX picks the JWT member by it (select_union_member/1) and refuses none
            "from": "password",
            "algorithm": "hmac-based",
            "secret": "k",
            "secret_base64_encoded": False,
        },
    ],
    "authorization.sources": [
        {"type": "file", "path": "/x"},
        {"type": "http", "method": "get", "url": "http://a", "request": {"method": "${m}"}},
    ],
}
for _key in list(ACCEPTED):
    ACCEPTED.update(BESIDE.get(_key, {}))


# A password EMQX needs beside ACCEPTED's TDengine username, from a Secret as the chart asks for secrets.
PASSWORD = {"name": "EMQX_CONNECTORS__TDENGINE__T1__PASSWORD", "valueFrom": {"secretKeyRef": {"name": "s", "key": "p"}}}


def test_valid_values_of_every_validated_field_render_as_written(template):
    settings = template({"emqxConfig": ACCEPTED, "extraEnv": [PASSWORD, *SECRETS]}).settings()
    for key, value in ACCEPTED.items():
        if isinstance(value, str | list):
            text = settings["EMQX_" + key.replace(".", "__").upper()]
            assert parse_value(text).data == value, (key, text)


def test_a_secret_given_through_extra_env_counts_for_the_validators(template):
    """A password or token belongs in a Secret (extraEnv); the TDengine check sees it there, and refuses the
    connector without it."""
    config = {"connectors.tdengine.t2": {"server": "td:6041"}}
    token = {"name": "EMQX_CONNECTORS__TDENGINE__T2__TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "t"}}}
    template({"emqxConfig": config, "extraEnv": [token]})
    with pytest.raises(HelmError, match="connectors.tdengine.t2: EMQX takes username with password"):
        template({"emqxConfig": config})


def test_items_of_the_wrong_kind_get_a_message_not_a_template_error(helm4):
    """A validator that reads fields of list items meets the items the type check refuses: each is refused with
    its path, and no check stops the render with a template error."""
    config = {
        "cluster.links": ["x", 5],
        "connectors.mqtt.m1.static_clientids": ["x", {"node": "a", "ids": "y"}],
        "retainer.backend.index_specs": ["x", [1]],
        "message_transformation.transformations": ["x"],
    }
    with pytest.raises(HelmError) as caught:
        render(helm4, {"emqxConfig": config})
    said = caught.value.stderr
    assert "error calling" not in said and "wrong type" not in said, said
    for key in config:
        assert f"emqxConfig.{key}[0]" in said, (key, said)


def test_a_string_for_a_splitting_array_reaches_emqx_as_one_string(template):
    """emqx_schema.erl converter_ciphers/2 splits the string itself: the chart writes it as given."""
    settings = template({"emqxConfig": {"rpc.ciphers": "A,B"}}).settings()
    assert parse_value(settings["EMQX_RPC__CIPHERS"]).data == "A,B"


def test_chart_tls_settings_count_for_the_ssl_validators(template):
    """With tls.verifyClients the chart writes verify: verify_peer and the certificate, so the SSL validators see
    them (no refusal of enable_crl_check or OCSP stapling without a certfile)."""
    config = {
        "listeners.ssl.default.ssl_options.enable_crl_check": True,
        "listeners.ssl.default.ssl_options.ocsp": {
            "enable_ocsp_stapling": True, "responder_url": "http://ocsp", "issuer_pem": "/x/ca.pem",
        },
    }  # fmt: skip
    values = {"tls": {"enabled": True, "existingSecret": "tls", "verifyClients": True}, "emqxConfig": config}
    template(values)
    with pytest.raises(HelmError, match="enable_crl_check is true, so EMQX needs verify: verify_peer"):
        template({"emqxConfig": config})


def test_the_bounds_validators_repeat_are_in_the_type_already():
    """emqx_resource_validator.erl min/2 and max/2, and validate_sample_ratio/1, bound what the field's type bounds
    already: the type check refuses first, so these codes need no check of their own."""
    structs, checks = _compact()
    found = 0
    for key, codes in checks.items():
        index, field = key.split(".", 1)
        kind = structs[int(index)][field]
        for code in codes:
            if isinstance(code, dict) and ("min" in code or "max" in code):
                low, high = kind["i"]
                assert code.get("min") is None or (low is not None and low >= code["min"]), (key, kind, code)
                assert code.get("max") is None or (high is not None and high <= code["max"]), (key, kind, code)
                found += 1
            if code == "ratio":
                assert kind == "%", (key, kind)  # a percentage: 0 to 100%, or a fraction 0 to 1
                found += 1
    assert found > 40


def _compact() -> tuple[list[dict], dict[str, list]]:
    text = (CHART / "files" / "emqx-schema.json").read_text()
    compact = json.loads(re.search(r'^\{".*\}$', text, re.M).group(0))
    return compact["s"], compact["c"]


def _validators() -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            found.update(node.get("validator", []))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema())
    return found


def test_every_validator_of_the_data_file_is_modelled_or_named_with_a_reason():
    modelled = {v for v in _validators() if roots.validator_check(v) is not None}
    unnamed = _validators() - modelled - set(roots.NOT_MODELLED)
    assert not unnamed, f"validators of the data file in neither table of roots.py: {sorted(unnamed)}"
    assert not modelled & set(roots.NOT_MODELLED), "a validator is both modelled and not"
    assert not set(roots.NOT_MODELLED) - _validators(), "NOT_MODELLED names validators the data file lacks"


def test_docs_list_every_validator_with_how_it_is_modelled():
    """docs/emqx-schema.md holds the table `roots.py --validators-table` writes, and its counts."""
    text = (ROOT / "docs" / "emqx-schema.md").read_text()
    table = re.search(r"<!-- validators-table: [^\n]*-->\n(.*?)<!-- end validators-table -->", text, re.S)
    assert table, "docs/emqx-schema.md has no validators table"
    want = roots.validators_table(schema())
    assert table.group(1) == want, "docs/emqx-schema.md: run tools/emqx_schema/roots.py --validators-table"
    rows = want.splitlines()[2:]
    modelled = [row for row in rows if "| not modelled:" not in row]
    fields = sum(int(re.search(r"\((\d+)\) \|$", row).group(1)) for row in modelled)
    said = (
        f"Of the {len(rows)} validators of EMQX {VERSION}'s schema, {len(modelled)} are modelled (on {fields} fields)"
    )
    assert said in text, said


def test_every_check_code_has_a_branch_in_the_templates():
    text = CHECKS.read_text()
    for code in [*roots.VALIDATORS.values(), *roots.CONVERTER_CHECKS.values()]:
        if isinstance(code, str):
            assert f'eq $name "{code}"' in text or f'"{code}"' in text, code
        else:
            assert f'hasKey $m "{next(iter(code))}"' in text, code


# Mutations of emqx-ee.emqxCheck and emqx-ee.rootChecks (files/emqx-checks.tpl), and of the union selection and
# the list rule (templates/_env.tpl): the one line that holds the first text is replaced by the second; the first
# REFUSED row of the code then renders, so its test would fail.
MUTATIONS = [
    ("{{- if eq $name \"packet_size\" -}}", "{{- if false -}}", "packet_size"),
    *[(f'{{{{- else if eq $name "{c}" -}}}}', "{{- else if false -}}", c) for c in (
        "heap_size", "keepalive_multiplier", "tcp_keepalive", "access_rules", "ocsp", "managed_certs",
        "restricted", "non_empty", "time_offset", "tickets_seed", "sample_interval", "hwmark_expire", "authn_chain",
        "latency_buckets", "http_url", "unique_topics", "cidrs", "servers", "issuer_url", "http_method", "part_sizes",
        "schema_checks", "placeholder", "placeholder_or_text", "static_clientids", "clientids", "claim_names",
        "header_names", "principal", "dispatch_key", "s3tables_arn", "account_id", "no_query", "opents_tags",
        "kafka_producer", "base64", "index_specs", "connectors", "rewrite",
    )],
    ('{{- else if has $name (list "oracle" "iotdb" "tdengine") -}}', "{{- else if false -}}", "oracle"),
    ('{{- else if eq $name "tdengine" -}}', "{{- else if false -}}", "tdengine"),
    ('{{- else if eq (get $f "driver" | default "restapi") "restapi" -}}', "{{- else if false -}}", "iotdb"),
    ('{{- else if has $name (list "topic_filters" "link_topics" "topic_redundancy") -}}', "{{- else if false -}}",
     "topic_filters"),
    ('{{- if hasPrefix "$LINK/cluster/" $t -}}', "{{- if false -}}", "link_topics"),
    ("{{- if $covers -}}", "{{- if false -}}", "topic_redundancy"),
    ('{{- else if has $name (list "server_ssl" "listener_ssl") -}}', "{{- else if false -}}", "server_ssl"),
    ('{{- if eq $name "listener_ssl" -}}', "{{- if false -}}", "listener_ssl"),
    *[(f'{{{{- else if hasKey $m "{c}" -}}}}', "{{- else if false -}}", c)
      for c in ("versions", "bytes", "unique", "reserved_key", "name", "ms", "one_enabled")],
    ("{{- if le $h $l -}}", "{{- if false -}}", "watermark"),
    ('{{- if le (include "emqx-ee.percent" $ht | float64)', "{{- if false -}}", "license_watermark"),
    ('"EMQX_LICENSE__HIGH_WATERMARK_TIMEZONE" -}}', "{{- with false -}}", "license_timezone"),
    ('{{- range $db := list "messages" "sessions" "timers" -}}', "{{- range $db := list -}}", "durable_sessions"),
    ("{{- if gt (len $members) 1 -}}", "{{- if false -}}", "union"),
    ('{{- $ok = or (eq $vk "list") (and (hasKey $t "j")', "{{- $ok = true -}}", "list"),
]  # fmt: skip
IN_ENV_TPL = {"union", "list"}
# An item with a field of a member other than the one its selector picks also fits none of the members together
# (emqx-ee.requiredChecks), so without the selection it is still refused, by that check's message instead.
ALSO_REFUSED = {"union": "none has every field set as given"}


@pytest.mark.parametrize("line, new, code", MUTATIONS, ids=[f"{m[2]}:{m[0][:40]}" for m in MUTATIONS])
def test_removing_a_validator_check_lets_its_refused_value_through(helm4, tmp_path, line, new, code):
    row = next(row for row in REFUSED if row[0] == code)
    template = "templates/_env.tpl" if code in IN_ENV_TPL else "files/emqx-checks.tpl"
    # the templates alone: values.schema.json is not under test here, and compiling it is most of a render's cost
    ignore = shutil.ignore_patterns("values.schema.json", "ci", "README.md")
    chart = chart_with_line(tmp_path, template, line, new, ignore)
    values = {"emqxConfig": _config([row]), "extraEnv": SECRETS}
    with pytest.raises(HelmError):
        render(helm4, values)
    if code not in ALSO_REFUSED:
        render(helm4, values, chart=chart)
        return
    with pytest.raises(HelmError) as caught:
        render(helm4, values, chart=chart)
    assert row[3] not in caught.value.stderr and ALSO_REFUSED[code] in caught.value.stderr, caught.value.stderr
