"""The abstract interpreter of Erlang expressions, with the registry of modelled library functions."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from .parser import Parser
from .preprocessor import Module, Preprocessor, Repo, _tok
from .tables import OVERRIDES, TYPEREFL_IMPORTS
from .terms import (
    FALSE,
    TRUE,
    Atom,
    Closure,
    EMap,
    ErlException,
    FunRef,
    ParseError,
    Stuck,
    TypeRefl,
    Unknown,
    freeze,
    sort_key,
    term_eq,
)
from .tokenizer import tokenize

GUARD_BIFS = {
    "is_atom": lambda x: isinstance(x, Atom),
    "is_binary": lambda x: isinstance(x, bytes),
    "is_bitstring": lambda x: isinstance(x, bytes),
    "is_list": lambda x: isinstance(x, list),
    "is_tuple": lambda x: isinstance(x, tuple),
    "is_map": lambda x: isinstance(x, EMap),
    "is_integer": lambda x: isinstance(x, int) and not isinstance(x, bool),
    "is_float": lambda x: isinstance(x, float),
    "is_number": lambda x: isinstance(x, int | float),
    "is_boolean": lambda x: x in (TRUE, FALSE) and isinstance(x, Atom),
    "is_pid": lambda x: False,
    "is_reference": lambda x: False,
    "is_port": lambda x: False,
}


def _is_fun(x: Any, arity: int | None = None) -> bool:
    if isinstance(x, FunRef):
        return arity is None or x.arity == arity
    if isinstance(x, Closure):
        return arity is None or len(x.clauses[0][0]) == arity
    return False


def abool(b: bool) -> Atom:
    return TRUE if b else FALSE


class Interp:
    """A small abstract interpreter for the Erlang subset schema modules use."""

    MAX_DEPTH = 600

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self.modules: dict[str, Module | None] = {}
        self.pterm: dict[Any, Any] = {}
        self.depth = 0
        self.stack: list[str] = []  # module:function/arity of the calls being evaluated
        self.call_cache: dict[Any, Any] = {}

    # -- modules
    def module(self, name: str) -> Module | None:
        if name not in self.modules:
            path = self.repo.modules.get(name)
            if path is None:
                self.modules[name] = None
            else:
                mod = Module(name, path)
                pp = Preprocessor(self.repo, self)
                pp.macros[("MODULE", None)] = ([], [_tok("atom", name)])
                pp.macros[("MODULE_STRING", None)] = ([], [_tok("str", name)])
                self.modules[name] = mod
                try:
                    pp.load(mod, path)
                except (ParseError, IndexError, ValueError) as exc:
                    mod.broken["*"] = f"{path}: {exc}"
                    print(f"warning: cannot read {path}: {exc}", file=sys.stderr)
        return self.modules[name]

    def exports(self, mod: str, name: str, arity: int) -> bool:
        m = self.module(mod)
        if m is not None:
            return (name, arity) in m.exported or (name, arity) in m.reflected
        return (mod, name, arity) in BUILTINS

    # -- calls
    def call(self, mod: str, name: str, args: list) -> Any:
        key = f"{mod}:{name}/{len(args)}"
        if key in OVERRIDES:
            return self.eval(Parser(tokenize(OVERRIDES[key])[:-1]).expr(), {}, mod)
        builtin = BUILTINS.get((mod, name, len(args)))
        if builtin is not None:
            return builtin(self, *args)
        m = self.module(mod)
        if m is None:
            return Unknown(f"{key} is outside the EMQX repository")
        clauses = m.functions.get((name, len(args)))
        if clauses is None:
            if (name, len(args)) in m.reflected:
                return self.reflected_type(m, name)
            if name in m.broken or "*" in m.broken:
                return Unknown(f"{mod}:{name} could not be parsed: {m.broken.get(name, m.broken.get('*'))}")
            if name == "module_info" and args == [Atom("attributes")]:
                attrs = [(Atom("behaviour"), [Atom(b) for b in m.behaviours])]
                for attr, expr in m.attributes:
                    v = self.eval(expr, {}, m.name)
                    attrs.append((Atom(attr), v if isinstance(v, list) else [v]))
                return attrs
            if name == "module_info":
                return Unknown(f"{key} is run-time data")
            raise ErlException("error", (Atom("undef"), (Atom(mod), Atom(name), len(args))))
        cache_key = None
        if name in ("fields", "roots") and len(args) <= 1:
            cache_key = (mod, name, freeze(args))
            if cache_key in self.call_cache:
                return self.call_cache[cache_key]
        self.depth += 1
        self.stack.append(key)
        try:
            if self.depth > self.MAX_DEPTH:
                raise Stuck(f"{key}: recursion too deep")
            result = self.apply_clauses(mod, clauses, args, None)
        except Stuck as s:
            result = Unknown(s.why)
        except RecursionError:
            result = Unknown(f"{key}: recursion too deep")
        finally:
            self.depth -= 1
            self.stack.pop()
        if cache_key is not None:
            self.call_cache[cache_key] = result
        return result

    def local_call(self, mod: str, name: str, args: list) -> Any:
        m = self.module(mod)
        arity = len(args)
        if m is not None:
            if (name, arity) in m.functions or (name, arity) in m.reflected or name in m.broken:
                return self.call(mod, name, args)
            if (name, arity) in m.imports:
                return self.call(m.imports[(name, arity)], name, args)
            if m.typerefl and name in TYPEREFL_IMPORTS:
                return self.call("typerefl", name, args)
        return self.call("erlang", name, args)

    def reflected_type(self, m: Module, name: str) -> TypeRefl:
        """A `-reflect_type`d type: integer ranges stay ranges, everything else keeps its name."""
        body = m.types.get(name, [])
        if name not in m.from_string and len(body) >= 3:
            rng = next((j for j, t in enumerate(body) if t.kind == "punct" and t.value == ".."), None)
            if rng is not None and len(body) == rng * 2 + 1 or rng == 1 and len(body) == 3:
                try:
                    pp = Preprocessor(self.repo, self)
                    lo = self.eval(Parser(pp.expand(body[:rng])).expr(), {}, m.name)
                    hi = self.eval(Parser(pp.expand(body[rng + 1 :])).expr(), {}, m.name)
                    return TypeRefl("integer", lo, hi)
                except (ParseError, Stuck, ErlException):
                    pass
        return TypeRefl(name)

    def apply_fun(self, f: Any, args: list) -> Any:
        if isinstance(f, Closure):
            self.depth += 1
            try:
                if self.depth > self.MAX_DEPTH:
                    raise Stuck("fun: recursion too deep")
                return self.apply_clauses(f.module, f.clauses, args, f.env, self_fun=f)
            finally:
                self.depth -= 1
        if isinstance(f, FunRef):
            return self.call(f.module, f.name, args)
        if isinstance(f, Unknown):
            return f
        raise ErlException("error", (Atom("badfun"), f))

    def apply_clauses(
        self, mod: str, clauses: list, args: list, env0: dict | None, self_fun: Closure | None = None
    ) -> Any:
        for pats, guards, body in clauses:
            if len(pats) != len(args):
                continue
            env: dict[str, Any] = {}
            if all(self.match(p, a, env) for p, a in zip(pats, args, strict=True)):
                if env0:
                    env = {**env0, **env}  # fun heads shadow the variables they close over
                if self_fun is not None and self_fun.name:
                    env[self_fun.name] = self_fun
                if self.guard(guards, env, mod):
                    return self.body(body, env, mod)
        raise ErlException("error", Atom("function_clause"))

    def body(self, exprs: list, env: dict, mod: str) -> Any:
        v = None
        for e in exprs:
            v = self.eval(e, env, mod)
        return v

    def guard(self, guards: list, env: dict, mod: str) -> bool:
        if not guards:
            return True
        for alt in guards:
            ok = True
            for g in alt:
                try:
                    v = self.eval(g, dict(env), mod)
                except ErlException:
                    v = FALSE
                if isinstance(v, Unknown):
                    raise Stuck(v.why)
                if v != TRUE or not isinstance(v, Atom):
                    ok = False
                    break
            if ok:
                return True
        return False

    # -- pattern matching
    def match(self, p: tuple, v: Any, env: dict) -> bool:
        k = p[0]
        if k == "var":
            name = p[1]
            if name == "_":
                return True
            if name in env:
                return term_eq(env[name], v)
            env[name] = v
            return True
        if k == "match":
            return self.match(p[1], v, env) and self.match(p[2], v, env)
        if isinstance(v, Unknown):
            raise Stuck(v.why)
        if k == "lit":
            return term_eq(p[1], v)
        if k == "tuple":
            return (
                isinstance(v, tuple)
                and len(v) == len(p[1])
                and all(self.match(pp, vv, env) for pp, vv in zip(p[1], v, strict=True))
            )
        if k == "cons":
            elems, tail = p[1], p[2]
            if not isinstance(v, list) or len(v) < len(elems) or (tail is None and len(v) != len(elems)):
                return False
            if not all(self.match(pp, vv, env) for pp, vv in zip(elems, v, strict=False)):
                return False
            return tail is None or self.match(tail, v[len(elems) :], env)
        if k == "map":
            if not isinstance(v, EMap):
                return False
            for _op, kp, vp in p[2]:
                key = self.eval(kp, env, "$pattern")
                if not v.has(key) or not self.match(vp, v.get(key), env):
                    return False
            return True
        if k == "op" and p[1] == "++":
            prefix = self.eval(p[2], env, "$pattern")
            return isinstance(v, list) and v[: len(prefix)] == prefix and self.match(p[3], v[len(prefix) :], env)
        if k == "unop":
            return term_eq(self.eval(p, env, "$pattern"), v)
        if k == "bin":
            return self.match_binary(p[1], v, env)
        if k == "record":
            return isinstance(v, tuple) and len(v) > 0 and v[0] == Atom(p[2])  # field patterns not checked
        raise Stuck(f"unsupported pattern {k}")

    def match_binary(self, segs: list, v: Any, env: dict) -> bool:
        if not isinstance(v, bytes):
            return False
        rest = v
        for n, (e, _size, types) in enumerate(segs):
            if e[0] == "lit" and isinstance(e[1], list):
                lit = "".join(chr(c) for c in e[1]).encode()
                if not rest.startswith(lit):
                    return False
                rest = rest[len(lit) :]
            elif n == len(segs) - 1 and ("binary" in types or "bytes" in types):
                return self.match(e, rest, env)
            else:
                raise Stuck("binary pattern")
        return rest == b""

    # -- expressions
    def eval(self, e: tuple, env: dict, mod: str) -> Any:
        k = e[0]
        if k == "lit":
            v = e[1]
            if isinstance(v, Atom) and v.startswith("$undefined_macro:"):
                return Unknown(f"{mod}: macro ?{v.split(':', 1)[1]} is defined outside the repository")
            return v
        if k == "var":
            if e[1] not in env:
                raise Stuck(f"{mod}: unbound variable {e[1]}")
            return env[e[1]]
        if k == "tuple":
            return tuple(self.eval(x, env, mod) for x in e[1])
        if k == "cons":
            elems = [self.eval(x, env, mod) for x in e[1]]
            if e[2] is None:
                return elems
            tail = self.eval(e[2], env, mod)
            if isinstance(tail, Unknown):
                return elems + [tail]
            if not isinstance(tail, list):
                return Unknown(f"{mod}: improper list")
            return elems + tail
        if k == "call":
            return self.eval_call(e, env, mod)
        if k == "op":
            return self.eval_op(e, env, mod)
        if k == "unop":
            v = self.eval(e[2], env, mod)
            if isinstance(v, Unknown):
                return v
            if e[1] == "-":
                return -v
            if e[1] == "not":
                return abool(v == FALSE)
            if e[1] == "bnot":
                return ~v
            return v
        if k == "match":
            v = self.eval(e[2], env, mod)
            if not self.match(e[1], v, env):
                raise ErlException("error", (Atom("badmatch"), v))
            return v
        if k == "case":
            v = self.eval(e[1], env, mod)
            return self.case(e[2], v, env, mod)
        if k == "if":
            for _pats, guards, body in e[1]:
                if self.guard(guards, env, mod):
                    return self.body(body, env, mod)
            raise ErlException("error", Atom("if_clause"))
        if k == "block":
            return self.body(e[1], env, mod)
        if k == "map":
            return self.eval_map(e, env, mod)
        if k == "fun":
            return Closure(e[1], dict(env), mod, e[2], self.stack[-1] if self.stack else mod)
        if k == "funref":
            m = self.eval(e[1], env, mod) if e[1] is not None else Atom(mod)
            f, a = self.eval(e[2], env, mod), self.eval(e[3], env, mod)
            if any(isinstance(x, Unknown) for x in (m, f, a)):
                return Unknown(f"{mod}: dynamic fun reference")
            if e[1] is None:
                mm = self.module(mod)
                if mm is not None and (str(f), a) in mm.imports:
                    m = mm.imports[(str(f), a)]
                elif mm is not None and (str(f), a) not in mm.functions and mm.typerefl and f in TYPEREFL_IMPORTS:
                    m = "typerefl"
            return FunRef(str(m), str(f), a)
        if k == "lc":
            out: list = []
            self.comprehension(e[1], e[2], dict(env), mod, out)
            return out
        if k == "bin":
            return self.eval_binary(e[1], env, mod)
        if k == "try":
            return self.eval_try(e, env, mod)
        if k == "catch":
            try:
                return self.eval(e[1], env, mod)
            except ErlException as exc:
                return exc.reason if exc.cls == "throw" else (Atom("EXIT"), exc.reason)
        if k == "record":
            return self.eval_record(e, env, mod)
        if k == "recidx":
            rec = self.record_def(mod, e[2])
            names = [f for f, _ in rec]
            if e[1] is None:
                return names.index(e[3]) + 2
            base = self.eval(e[1], env, mod)
            if isinstance(base, Unknown):
                return base
            return base[names.index(e[3]) + 1]
        if k == "send":
            return Unknown(f"{mod}: message send")
        raise Stuck(f"{mod}: unsupported expression {k}")

    def case(self, clauses: list, v: Any, env: dict, mod: str) -> Any:
        for pats, guards, body in clauses:
            env2 = dict(env)
            if self.match(pats[0], v, env2) and self.guard(guards, env2, mod):
                env.update(env2)
                return self.body(body, env, mod)
        raise ErlException("error", (Atom("case_clause"), v))

    def eval_try(self, e: tuple, env: dict, mod: str) -> Any:
        _, body, of_cl, catch_cl, after = e
        try:
            v = self.body(body, env, mod)
        except ErlException as exc:
            reason = (Atom(exc.cls), exc.reason)
            for pats, guards, cbody in catch_cl:
                env2 = dict(env)
                if self.match(pats[0], reason, env2) and self.guard(guards, env2, mod):
                    env.update(env2)
                    return self.body(cbody, env, mod)
            raise
        finally:
            if after:
                self.body(after, env, mod)
        if of_cl:
            return self.case(of_cl, v, env, mod)
        return v

    def comprehension(self, expr: tuple, quals: list, env: dict, mod: str, out: list) -> None:
        if not quals:
            out.append(self.eval(expr, env, mod))
            return
        q, rest = quals[0], quals[1:]
        if q[0] == "gen":
            src = self.eval(q[2], env, mod)
            if isinstance(src, Unknown):
                raise Stuck(src.why)
            if isinstance(src, EMap):
                src = [(kk, vv) for kk, vv in src.items()]
            for item in src:
                binds: dict[str, Any] = {}
                if self.match(q[1], item, binds):
                    self.comprehension(expr, rest, {**env, **binds}, mod, out)
        else:
            v = self.eval(q, env, mod)
            if isinstance(v, Unknown):
                raise Stuck(v.why)
            if v == TRUE:
                self.comprehension(expr, rest, env, mod, out)

    def eval_map(self, e: tuple, env: dict, mod: str) -> Any:
        base = EMap() if e[1] is None else self.eval(e[1], env, mod)
        if isinstance(base, Unknown):
            return base
        if not isinstance(base, EMap):
            raise ErlException("error", (Atom("badmap"), base))
        for op, kx, vx in e[2]:
            key = self.eval(kx, env, mod)
            if isinstance(key, Unknown):
                return key
            if op == ":=" and not base.has(key):
                raise ErlException("error", (Atom("badkey"), key))
            base = base.put(key, self.eval(vx, env, mod))
        return base

    def eval_binary(self, segs: list, env: dict, mod: str) -> Any:
        out = b""
        for e, size, types in segs:
            v = self.eval(e, env, mod)
            if isinstance(v, Unknown):
                return v
            if isinstance(v, bytes):
                out += v
            elif isinstance(v, list):
                out += "".join(chr(c) for c in v).encode("utf-8" if "utf8" in types else "latin-1", "replace")
            elif isinstance(v, int) and "utf8" in types:
                out += chr(v).encode()
            elif isinstance(v, int):
                n = self.eval(size, env, mod) // 8 if size is not None else 1
                out += (v % (1 << (8 * n))).to_bytes(n, "big")
            else:
                return Unknown(f"{mod}: binary construction")
        return out

    def record_def(self, mod: str, name: str) -> list:
        m = self.module(mod)
        if m is None or name not in m.records:
            raise Stuck(f"{mod}: record {name} is not defined in the repository")
        return m.records[name]

    def eval_record(self, e: tuple, env: dict, mod: str) -> Any:
        rec = self.record_def(mod, e[2])
        given = {f: x for f, x in e[3]}
        if e[1] is not None:
            base = self.eval(e[1], env, mod)
            if isinstance(base, Unknown):
                return base
            vals = list(base[1:])
        else:
            vals = [self.eval(d, env, mod) for _f, d in rec]
        for i, (f, _d) in enumerate(rec):
            if f in given:
                vals[i] = self.eval(given[f], env, mod)
        return (Atom(e[2]), *vals)

    def eval_call(self, e: tuple, env: dict, mod: str) -> Any:
        fx, argx = e[1], e[2]
        if fx[0] == "remote":
            m, f = self.eval(fx[1], env, mod), self.eval(fx[2], env, mod)
            args = [self.eval(a, env, mod) for a in argx]
            if isinstance(m, Unknown) or isinstance(f, Unknown):
                return Unknown((m if isinstance(m, Unknown) else f).why)
            return self.call(str(m), str(f), args)
        if fx[0] == "lit" and isinstance(fx[1], Atom):
            args = [self.eval(a, env, mod) for a in argx]
            return self.local_call(mod, str(fx[1]), args)
        f = self.eval(fx, env, mod)
        args = [self.eval(a, env, mod) for a in argx]
        return self.apply_fun(f, args)

    def eval_op(self, e: tuple, env: dict, mod: str) -> Any:
        op = e[1]
        a = self.eval(e[2], env, mod)
        if op in ("andalso", "orelse"):
            if isinstance(a, Unknown):
                return a
            if (op == "andalso") == (a == FALSE):
                return a
            return self.eval(e[3], env, mod)
        b = self.eval(e[3], env, mod)
        if op == "++" and isinstance(a, list) and isinstance(b, Unknown):
            return a + [b]  # keep what is known; the Unknown becomes one opaque element
        if op == "++" and isinstance(a, Unknown) and isinstance(b, list):
            return [a] + b
        if isinstance(a, Unknown):
            return a
        if isinstance(b, Unknown):
            return b
        return binop(op, a, b)


def binop(op: str, a: Any, b: Any) -> Any:
    if op == "++":
        if not isinstance(a, list):
            raise ErlException("error", Atom("badarg"))
        return a + b if isinstance(b, list) else Unknown("improper list")
    if op == "--":
        out = list(a)
        for x in b:
            for i, y in enumerate(out):
                if term_eq(x, y):
                    del out[i]
                    break
        return out
    if op in ("==", "=:="):
        return abool(term_eq(a, b))
    if op in ("/=", "=/="):
        return abool(not term_eq(a, b))
    if op in ("<", ">", "=<", ">="):
        ka, kb = sort_key(a), sort_key(b)
        return abool({"<": ka < kb, ">": ka > kb, "=<": ka <= kb, ">=": ka >= kb}[op])
    if op in ("and", "or", "xor"):
        x, y = a == TRUE, b == TRUE
        return abool({"and": x and y, "or": x or y, "xor": x != y}[op])
    if not isinstance(a, int | float) or not isinstance(b, int | float):
        raise ErlException("error", Atom("badarith"))
    ops: dict[str, Callable[[Any, Any], Any]] = {
        "+": lambda x, y: x + y,
        "-": lambda x, y: x - y,
        "*": lambda x, y: x * y,
        "/": lambda x, y: x / y,
        "div": lambda x, y: int(x / y),
        "rem": lambda x, y: x - y * int(x / y),
        "band": lambda x, y: x & y,
        "bor": lambda x, y: x | y,
        "bxor": lambda x, y: x ^ y,
        "bsl": lambda x, y: x << y,
        "bsr": lambda x, y: x >> y,
    }
    return ops[op](a, b)


# The functions of code outside the EMQX repository that the interpreter models (builtins.py fills it).
BUILTINS: dict[tuple[str, str, int], Callable[..., Any]] = {}
