"""From evaluated hocon types to the JSON type tree, and the generation of one commit's schema."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .builtins import as_field_schema, hocon_roots
from .interpreter import Interp, _is_fun
from .terms import (
    FALSE,
    TRUE,
    UNDEFINED,
    Atom,
    Closure,
    EMap,
    ErlException,
    FunRef,
    Stuck,
    TypeRefl,
    Unknown,
    show,
    to_text,
)

ENTRY_MODULE = "emqx_enterprise_schema"
CHART_ROOTS = (
    "node cluster listeners dashboard license log rpc api_key prometheus plugins mqtt durable_sessions "
    "authorization sysmon force_shutdown force_gc flapping_detect overload_protection"
).split()


# Field name standing for list elements of a fields/roots list that could not be evaluated.
UNKNOWN_FIELDS = "..."


def fun_name(f: Any) -> str:
    """Where a validator or converter fun comes from: `module:function/arity` of a named fun, or of the
    function whose body made an anonymous one (`fun(X) -> ... end` inside emqx_schema:fields/1)."""
    if isinstance(f, FunRef):
        return f"{f.module}:{f.name}/{f.arity}"
    if isinstance(f, Closure):
        # The variables it closes over that are plain terms: a factory's arguments (Min, Max, Collection...).
        bound = [
            f"{k}={show(v)}"
            for k, v in sorted(f.env.items())
            if not isinstance(v, Closure | FunRef | EMap | Unknown) and "FunRef(" not in show(v) and len(show(v)) < 80
        ]
        return f"fun in {f.origin}" + (f" ({', '.join(bound)})" if bound else "")
    return f"? {show(f)[:60]}"


def any_node(why: str) -> dict:
    return {"kind": "any", "why": why}


class TreeBuilder:
    """Turns evaluated hocon types into JSON nodes; every struct is built once into `structs`."""

    def __init__(self, ip: Interp) -> None:
        self.ip = ip
        self.anys: list[tuple[str, str]] = []  # (location, why); location is "<struct>.<field>..." or a root
        self.structs: dict[str, dict | None] = {}  # None while being built

    def any(self, path: list[str], why: str) -> dict:
        self.anys.append((".".join(path), why))
        return any_node(why)

    def build(self, entry: str = ENTRY_MODULE) -> tuple[list[str], dict]:
        roots = hocon_roots(self.ip, Atom(entry))
        if isinstance(roots, Unknown):
            raise SystemExit(f"cannot evaluate {entry}:roots/0: {roots.why}")
        fields = {}
        for item in roots:
            if isinstance(item, Unknown):
                fields[UNKNOWN_FIELDS] = self.any([UNKNOWN_FIELDS], item.why)
                continue
            bname, (_name, schema) = item
            name = bname.decode()
            fields[name] = self.field(entry, schema, [name])
        return sorted(k for k in fields if k != UNKNOWN_FIELDS), {"kind": "struct", "fields": fields}

    def field(self, mod: str, schema: Any, path: list[str]) -> dict:
        try:
            fs = as_field_schema(self.ip, schema)
        except Stuck as s:
            return self.any(path, s.why)
        except ErlException as exc:
            return self.any(path, f"field schema raised {exc}")
        node = self.type_node(mod, fs.get(Atom("type"), Unknown("field without type")), path)
        importance = fs.get(Atom("importance"))
        if importance == Atom("hidden"):
            node["hidden"] = True
        elif importance == Atom("no_doc"):
            node["no_doc"] = True  # ?IMPORTANCE_NO_DOC: a normal field, left out of EMQX's docs
        deprecated = fs.get(Atom("deprecated"))
        if deprecated is not None and deprecated not in (FALSE, UNDEFINED):
            node["deprecated"] = True
        aliases = fs.get(Atom("aliases"))
        if isinstance(aliases, list) and aliases:
            node["aliases"] = [to_text(a) or show(a) for a in aliases]
        required = self.required(fs.get(Atom("required")), path)
        if required is not None:
            node["required"] = required
        default = fs.get(Atom("default"))
        if default is not None and default != UNDEFINED:
            node["has_default"] = True  # the value itself is not copied, only that hocon fills one in
        for key in ("validator", "converter"):
            funs = fs.get(Atom(key))
            if funs is not None and funs != UNDEFINED:
                node[key] = [fun_name(f) for f in (funs if isinstance(funs, list) else [funs])]
        return node

    def required(self, value: Any, path: list[str]) -> bool | str | None:
        """The field's `required` as hocon_tconf.erl `is_required/2` reads it: absent (None: at boot EMQX passes no
        `required` option, so the default false applies), true, false, or `{false, recursively}` (do_map/4 then
        leaves an absent struct unchecked below)."""
        if value is None or value == UNDEFINED:
            return None
        if value == TRUE:
            return True
        if value == FALSE:
            return False
        if isinstance(value, tuple) and len(value) == 2 and value == (FALSE, Atom("recursively")):
            return "{false, recursively}"
        self.any(path + ["required"], f"required is {show(value)[:60]}")
        return "?"

    def type_node(self, mod: str, t: Any, path: list[str]) -> dict:
        if isinstance(t, Unknown):
            return self.any(path, t.why)
        if isinstance(t, Atom):
            return {"kind": "singleton", "value": str(t)}
        if isinstance(t, list):
            return self.struct(mod, t, path)  # a bare string is ?REF(Name) in the current module
        if isinstance(t, TypeRefl):
            return self.typerefl(mod, t, path)
        if isinstance(t, tuple) and t and all(isinstance(x, TypeRefl) for x in t):
            return {"kind": "scalar", "type": "tuple"}  # a typerefl tuple type, e.g. {module(), atom()}
        if isinstance(t, EMap) and t.has(Atom("type")):
            return self.type_node(mod, t.get(Atom("type")), path)
        if isinstance(t, tuple) and t and isinstance(t[0], Atom):
            tag = t[0]
            if tag == "ref" and len(t) == 2:
                return self.struct(mod, t[1], path)
            if tag == "ref" and len(t) == 3:
                if isinstance(t[1], Unknown):
                    return self.any(path, t[1].why)
                return self.struct(str(t[1]), t[2], path)
            if tag == "array":
                return {"kind": "array", "item": self.type_node(mod, t[1], path + ["[]"])}
            if tag == "lazy":
                return self.type_node(mod, t[1], path)
            if tag == "map":
                key = to_text(t[1]) or show(t[1])
                return {"kind": "map", "key": key, "value": self.type_node(mod, t[2], path + ["$" + key])}
            if tag == "enum":
                if isinstance(t[1], Unknown):
                    return self.any(path, t[1].why)
                return {"kind": "enum", "values": [to_text(s) if to_text(s) is not None else show(s) for s in t[1]]}
            if tag == "union":
                return self.union(mod, t[1], path)
        return self.any(path, f"unrecognised type {show(t)[:60]}")

    def union(self, mod: str, members: Any, path: list[str]) -> dict:
        if _is_fun(members):  # a selector fun: list its members the way hocon's docgen does
            try:
                members = self.ip.apply_fun(members, [Atom("all_union_members")])
            except ErlException as exc:
                return self.any(path, f"union selector raised {exc}")
            except Stuck as s:
                return self.any(path, s.why)
        if isinstance(members, Unknown):
            return self.any(path, members.why)
        return {"kind": "union", "members": [self.type_node(mod, m, path) for m in members]}

    def typerefl(self, mod: str, t: TypeRefl, path: list[str]) -> dict:
        if t.name == "list":
            return {"kind": "array", "item": self.type_node(mod, t.args[0], path + ["[]"])}
        if t.name == "union":
            members = []
            for m in t.args:
                if isinstance(m, TypeRefl):
                    members.append(self.typerefl(mod, m, path))
                else:
                    members.append({"kind": "singleton", "value": to_text(m) if to_text(m) is not None else show(m)})
            return {"kind": "union", "members": members}
        node: dict[str, Any] = {"kind": "scalar", "type": t.name}
        for key, bound in (("min", t.lo), ("max", t.hi)):
            if isinstance(bound, int | float) and not isinstance(bound, bool):
                node[key] = bound  # typerefl writes an open end as the atom `inf`
        return node

    def struct(self, mod: str, name: Any, path: list[str]) -> dict:
        if isinstance(name, Unknown):
            return self.any(path, name.why)
        key = f"{mod}:{show(name)}"
        if key not in self.structs:
            self.structs[key] = None  # a reference back to it while building is a cycle: fine, it is a ref
            self.structs[key] = self.build_struct(mod, name, key)
        if self.structs[key] is not None and self.structs[key]["kind"] == "any":
            return dict(self.structs[key])
        return {"kind": "ref", "name": key}

    def build_struct(self, mod: str, name: Any, key: str) -> dict:
        try:
            fields = self.ip.call(mod, "fields", [name])
        except ErlException as exc:
            return self.any([key], f"{key} raised {exc}")
        except Stuck as s:
            return self.any([key], s.why)
        if isinstance(fields, EMap):
            fields = fields.get(Atom("fields"), Unknown(f"{key}: struct meta without fields"))
        if isinstance(fields, Unknown):
            return self.any([key], fields.why)
        out: dict[str, Any] = {}
        for entry in fields:
            if not (isinstance(entry, tuple) and len(entry) == 2):
                why = entry.why if isinstance(entry, Unknown) else f"bad field entry {show(entry)[:60]}"
                out[UNKNOWN_FIELDS] = self.any([key, UNKNOWN_FIELDS], why)
                continue
            fname = to_text(entry[0])
            if fname is None:
                self.any([key, "?"], f"{key}: field name {show(entry[0])[:60]}")
                continue
            out[fname] = self.field(mod, entry[1], [key, fname])
        return {"kind": "struct", "name": key, "fields": out}


def struct_refs(node: dict) -> list[str]:
    """Names of the structs a node refers to (through maps, arrays and unions)."""
    kind = node["kind"]
    if kind == "ref":
        return [node["name"]]
    if kind == "struct":
        return [r for n in node["fields"].values() for r in struct_refs(n)]
    if kind == "map":
        return struct_refs(node["value"])
    if kind == "array":
        return struct_refs(node["item"])
    if kind == "union":
        return [r for m in node["members"] for r in struct_refs(m)]
    return []


def reachable(structs: dict[str, dict], roots: Iterable[dict]) -> set[str]:
    seen: set[str] = set()
    todo = [r for n in roots for r in struct_refs(n)]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += struct_refs(structs[name])
    return seen


def count_paths(structs: dict[str, dict], node: dict, stack: tuple = ()) -> int:
    """Number of field paths below a node when structs are expanded (cycles counted once)."""
    kind = node["kind"]
    if kind == "ref":
        if node["name"] in stack:
            return 0
        return count_paths(structs, structs[node["name"]], stack + (node["name"],))
    if kind == "struct":
        return sum(1 + count_paths(structs, n, stack) for n in node["fields"].values())
    if kind == "map":
        return count_paths(structs, node["value"], stack)
    if kind == "array":
        return count_paths(structs, node["item"], stack)
    if kind == "union":
        return sum(count_paths(structs, m, stack) for m in node["members"])
    return 0
