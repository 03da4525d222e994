#!/usr/bin/env python3
"""Write a compact form of EMQX's config schema into the chart (templates/_emqx_schema.tpl), from the schema
data file of the chart's appVersion.

The chart checks every `emqxConfig` path and value against it at render time (`emqx-ee.walkConfig` in
`_env.tpl`, which parses it only when `emqxConfig` is set): a first segment that is no config root (EMQX would
ignore it without a word, the message names the nearest roots), unknown fields, types and ranges, deprecated
fields. It comes from tools/emqx_schema/data/emqx-schema-<appVersion>.json, which tools/emqx_schema generates
from EMQX's source. tests/unit/test_emqx_schema.py and test_emqx_config_check.py run `--check`, so the chart's
copy cannot drift from the data file.

    tools/emqx_schema/roots.py           # rewrite charts/emqx-ee/templates/_emqx_schema.tpl
    tools/emqx_schema/roots.py --check   # exit 1 when it is stale

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
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "emqx-ee"
TARGET = CHART / "templates" / "_emqx_schema.tpl"

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
LIMITER_STRUCTS = re.compile(r"^emqx_limiter_schema:|^emqx_schema:mqtt_\w+_listener$")
LIMITER_FIELD = re.compile(r"_(rate|burst)$")


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

    def fields(struct: dict, name: str) -> dict:
        out: dict = {}
        for field, node in sorted(struct["fields"].items()):
            kind = convert(node, name, field)
            if node.get("deprecated"):
                kind = {"x": kind}
            for alias in [field, *node.get("aliases", [])]:
                out[alias] = kind
        return out

    table = [fields(data["schema"], "")]
    done = 0
    while done < len(order):
        name = order[done]
        table.append(fields(structs[name], name))
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

    return {"v": data["emqx_version"], "s": [{f: shift(k) for f, k in s.items()} for s in table]}


def render() -> str:
    data = json.loads(data_file().read_text())
    source = data["source"]
    text = json.dumps(compact(data), separators=(",", ":"), sort_keys=True)
    return (
        f"{{{{- /* Generated by tools/emqx_schema/roots.py from {data_file().relative_to(ROOT)}\n"
        f"(EMQX {data['emqx_version']}, {source['repository']} {source['ref']} {source['commit']}): the\n"
        "compact schema described in that script. Do not edit. */ -}}\n"
        '{{- define "emqx-ee.emqxSchema" -}}\n'
        f"{text}\n"
        "{{- end -}}\n\n"
        '{{- define "emqx-ee.emqxSchemaVersion" -}}\n'
        f"{data['emqx_version']}\n"
        "{{- end -}}\n"
    )


def main() -> int:
    text = render()
    if "--check" in sys.argv[1:]:
        if not TARGET.exists() or TARGET.read_text() != text:
            print(f"{TARGET.relative_to(ROOT)} is stale: run tools/emqx_schema/roots.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET.relative_to(ROOT)} ({len(text.encode())} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
