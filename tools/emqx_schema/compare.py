#!/usr/bin/env python3
"""Compare a schema data file from tools/emqx_schema with EMQX's published schema dump.

EMQX publishes its configuration schema per release in the emqx/emqx-docs repository
(``hocon/hocon-ee-v<version>-en.json``, produced by ``emqx_conf:gen_schema_json/3`` with
``include_importance_up_from => low``: hidden and no_doc fields are left out).  This script flattens both trees
into ``path -> type`` tables over the chart-relevant config roots and prints, per root: paths in
each, paths only in the generated data (expected: hidden fields and what sits below them), paths
only in the dump (generator misses) and type mismatches.  Types are compared in the dump's own
notation (``Integer(1..+inf)``, ``OneOf(String("infinity"),Duration)``, ``Map($name->Struct(x))``).

Usage:
    python3 -m emqx_schema --repo <emqx git dir> --commit <sha of v5.8.1> --ref v5.8.1 \\
        --version 5.8.1 --out /tmp/emqx-schema-5.8.1.json
    python3 -m emqx_schema.compare --data /tmp/emqx-schema-5.8.1.json --dump hocon-ee-v5.8.1-en.json

Exit status is 0 when every difference is explained (hidden or deprecated in the generated data),
1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from typing import Any

CHART_ROOTS = (
    "node cluster listeners dashboard license log rpc api_key prometheus plugins mqtt durable_sessions "
    "authorization sysmon force_shutdown force_gc flapping_detect overload_protection"
).split()

# How scalar types of the generated data print in the dump's notation (emqx_conf_schema_types).
SCALAR_DOC = {
    "boolean": "Boolean",
    "float": "Float",
    "number": "Number",
    "string": "String",
    "atom": "String",
    "duration": "Duration",
    "duration_ms": "Duration",
    "timeout_duration": "Duration",
    "timeout_duration_ms": "Duration",
    "duration_s": "Duration(s)",
    "timeout_duration_s": "Duration(s)",
    "bytesize": "Bytesize",
    "wordsize": "Bytesize",
    "secret": "Secret",
    "map": "Map",
    "qos": "Integer(0..2)",
    "percent": "String",
    "ip_port": "String",
    "host_port": "String",
    "url": "String",
    "comma_separated_list": "String",
    "comma_separated_binary": "String",
    "comma_separated_atoms": "String",
    "json_binary": "String",
    "template": "String",
    "template_str": "String",
    "file": "String",
    "cipher": "String",
}


# ----------------------------------------------------------------------------------------------
# The generated data: node -> dump-style type string, flattened paths
# ----------------------------------------------------------------------------------------------


def gen_type(node: dict) -> str:
    kind = node["kind"]
    if kind == "struct" or kind == "ref":
        return f"Struct({node['name'].split(':', 1)[1]})"
    if kind == "map":
        return f"Map(${node['key']}->{gen_type(node['value'])})"
    if kind == "array":
        return f"Array({gen_type(node['item'])})"
    if kind == "union":
        return "OneOf(" + ",".join(gen_type(m) for m in node["members"]) + ")"
    if kind == "enum":
        return "Enum(" + ",".join(node["values"]) + ")"
    if kind == "singleton":
        return f'String("{node["value"]}")'
    if kind == "any":
        return "Any"
    t = node["type"]
    if t == "integer":
        lo, hi = node.get("min"), node.get("max")
        if lo is None and hi is None:
            return "Integer"
        return f"Integer({'-inf' if lo is None else lo}..{'+inf' if hi is None else hi})"
    return SCALAR_DOC.get(t, t)


def gen_structs(node: dict, suffix: str = "") -> list[tuple[str, str]]:
    """(path suffix, struct name) for every struct inside a field's type."""
    kind = node["kind"]
    if kind == "ref":
        return [(suffix, node["name"])]
    if kind == "map":
        return gen_structs(node["value"], f"{suffix}.${node['key']}")
    if kind == "array":
        return gen_structs(node["item"], f"{suffix}.[]")
    if kind == "union":
        return [s for m in node["members"] for s in gen_structs(m, suffix)]
    return []


@dataclass
class Entry:
    types: set[str] = field(default_factory=set)
    visible_types: set[str] = field(default_factory=set)  # from occurrences the dump would show
    hidden: bool = False  # hidden/no_doc itself or below such a field
    deprecated: bool = False


def flatten_gen(data: dict) -> dict[str, Entry]:
    out: dict[str, Entry] = {}
    structs = data["structs"]

    def walk(fields: dict, prefix: str, hidden: bool, deprecated: bool, stack: tuple = ()) -> None:
        for name, node in fields.items():
            path = f"{prefix}.{name}" if prefix else name
            e = out.setdefault(path, Entry(hidden=True, deprecated=True))
            # The dump includes importance >= low: hidden and no_doc fields are left out.
            h = hidden or node.get("hidden", False) or node.get("no_doc", False)
            d = deprecated or node.get("deprecated", False)
            e.types.add(gen_type(node))
            if not h:
                e.visible_types.add(gen_type(node))
            e.hidden, e.deprecated = e.hidden and h, e.deprecated and d
            for suffix, name in gen_structs(node):
                if name not in stack:  # the dump does not expand cycles either
                    walk(structs[name]["fields"], path + suffix, h, d, stack + (name,))

    walk(data["schema"]["fields"], "", False, False)
    return out


# ----------------------------------------------------------------------------------------------
# The dump
# ----------------------------------------------------------------------------------------------


def dump_struct_suffixes(t: str) -> list[tuple[str, str]]:
    """(path suffix, struct short name) for every Struct(...) in a dump type string."""
    out: list[tuple[str, str]] = []

    def parse(i: int, suffix: str) -> int:
        if t.startswith("Struct(", i):
            j = t.index(")", i)
            out.append((suffix, t[i + 7 : j]))
            return j + 1
        if t.startswith("Map($", i):
            j = t.index("->", i)
            k = parse(j + 2, f"{suffix}.${t[i + 5 : j]}")
            return k + 1
        if t.startswith("Array(", i):
            return parse(i + 6, f"{suffix}.[]") + 1
        if t.startswith("OneOf(", i):
            i += 6
            while True:
                i = parse(i, suffix)
                if t[i] == ",":
                    i += 1
                    continue
                return i + 1
        m = re.compile(r'String\("[^"]*"\)|[A-Za-z]+(\([^()]*\))?').match(t, i)
        if m is None:
            raise ValueError(f"cannot parse dump type {t!r} at {i}")
        return m.end()

    parse(0, "")
    return out


def flatten_dump(dump: dict) -> dict[str, Entry]:
    out: dict[str, Entry] = {}

    def walk(fields: list, prefix: str) -> None:
        for f in fields:
            path = f"{prefix}.{f['text']}" if prefix else f["text"]
            # range(0, inf) prints as Integer(0..inf), non_neg_integer() as Integer(0..+inf): same type.
            out.setdefault(path, Entry()).types.add(f["type"].replace("..inf)", "..+inf)"))
            refs = {r["text"]: r for r in f.get("refs", [])}
            for suffix, name in dump_struct_suffixes(f["type"]):
                if name in refs:
                    walk(refs[name]["fields"], path + suffix)

    walk(dump["fields"], "")
    return out


# ----------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------


def in_root(path: str, root: str) -> bool:
    return path == root or path.startswith(root + ".")


def compare(data: dict, dump: dict, roots: list[str]) -> tuple[list[list[Any]], dict[str, list[str]], bool]:
    gen, doc = flatten_gen(data), flatten_dump(dump)
    rows, details, clean = [], {"unexplained_only_gen": [], "only_dump": [], "mismatch": []}, True
    details["hidden_only_gen"] = []
    for root in roots:
        g = {p: e for p, e in gen.items() if in_root(p, root)}
        d = {p: e for p, e in doc.items() if in_root(p, root)}
        only_g = sorted(set(g) - set(d))
        only_d = sorted(set(d) - set(g))
        explained = [p for p in only_g if g[p].hidden]
        unexplained = [p for p in only_g if not g[p].hidden]
        # A path shared by several union members (e.g. one struct per authn backend) is compared on
        # the members the dump shows, when some of them are hidden.
        mismatch = [p for p in sorted(set(g) & set(d)) if (g[p].visible_types or g[p].types) != d[p].types]
        rows.append([root, len(g), len(d), len(only_g), len(explained), len(only_d), len(mismatch)])
        # list the topmost ones only: everything below a hidden field is hidden with it
        explained_set = set(explained)
        details["hidden_only_gen"] += [
            p for p in explained if not any(p.startswith(q + ".") for q in explained_set if q != p)
        ]
        details["unexplained_only_gen"] += [f"{p}  {sorted(g[p].types)}" for p in unexplained]
        details["only_dump"] += [f"{p}  {sorted(d[p].types)}" for p in only_d]
        details["mismatch"] += [
            f"{p}\n    generated: {sorted(g[p].visible_types or g[p].types)}\n    dump:      {sorted(d[p].types)}"
            for p in mismatch
        ]
        clean = clean and not unexplained and not only_d and not mismatch
    return rows, details, clean


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="data file written by tools/emqx_schema")
    ap.add_argument("--dump", required=True, help="EMQX's hocon-ee-v<version>-en.json")
    ap.add_argument("--roots", default=",".join(CHART_ROOTS), help="comma separated roots to compare")
    ap.add_argument("--show-hidden", action="store_true", help="also list the (topmost) hidden paths the dump omits")
    args = ap.parse_args(argv)
    with open(args.data, encoding="utf-8") as fh:
        data = json.load(fh)
    with open(args.dump, encoding="utf-8") as fh:
        dump = json.load(fh)
    roots = [r for r in args.roots.split(",") if r]
    rows, details, clean = compare(data, dump, roots)

    print(f"EMQX {data['emqx_version']} ({data['source']['ref']}, {data['source']['commit'][:12]}) vs {args.dump}\n")
    head = [
        "root",
        "paths (generated)",
        "paths (dump)",
        "only generated",
        "of which hidden/no_doc",
        "only dump",
        "type mismatch",
    ]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" if i == 0 else "--:" for i in range(len(head))) + "|")
    for r in rows:
        print("| " + " | ".join(str(x) for x in r) + " |")
    totals = ["**total**"] + [sum(r[i] for r in rows) for i in range(1, len(head))]
    print("| " + " | ".join(str(x) for x in totals) + " |")
    titles = {
        "unexplained_only_gen": "Only in the generated data, not hidden",
        "only_dump": "Only in the dump (generator misses)",
        "mismatch": "Type mismatches",
        "hidden_only_gen": "Only in the generated data, hidden or no_doc (the dump leaves those out; topmost only)",
    }
    for key, title in titles.items():
        if key == "hidden_only_gen" and not args.show_hidden:
            continue
        items = details[key]
        print(f"\n### {title}: {len(items)}\n")
        for item in items:
            print(f"- {item}")
        if not items:
            print("(none)")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
