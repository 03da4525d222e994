#!/usr/bin/env python3
"""Derive EMQX Enterprise's configuration schema from EMQX's Erlang source.

What it does
    Reads the EMQX source tree of one commit straight out of a git directory (no checkout, no
    Erlang toolchain), and symbolically evaluates the HOCON schema the broker itself would build:
    ``emqx_enterprise_schema:roots/0`` and every ``fields(Name)`` reachable from it.  The result is
    a JSON type tree (structs, maps, arrays, unions, enums, scalars) keyed by config root, written
    with sorted keys so that a regeneration shows up as a reviewable diff.

Where EMQX's schema lives
    Schema modules are ``apps/*/src/**/*_schema.erl`` implementing the ``hocon_schema`` behaviour
    (``roots/0`` and ``fields/1``).  Fields are ``{Name, hoconsc:mk(Type, Meta)}`` tuples, built by
    ordinary Erlang: helper functions with arguments, ``++``, ``lists:*``/``maps:*`` calls, ``case``
    on arguments, macros from ``-define`` and ``apps/*/include/*.hrl``.  The Enterprise entry point
    is ``emqx_enterprise_schema``, which redefines some roots of ``emqx_conf_schema`` and appends
    the roots of its ``?EE_SCHEMA_MODULES``.  ``emqx_conf_schema:roots/0`` first registers schema
    "injections" (``emqx_schema_hooks``, backed by ``persistent_term``): this script evaluates that
    too, so the authentication/authorization providers and ``node.role`` are filled in the way the
    broker does it.

How it works
    A small Erlang tokenizer, preprocessor (``-define``, ``-include``/``-include_lib`` inside the
    repo, ``-ifdef``/``-ifndef``/``-if``), expression parser and an abstract interpreter.  Values the
    source cannot determine statically become ``Unknown``; a type that evaluates to ``Unknown``
    becomes ``{"kind": "any", "why": "..."}`` naming the module:function that blocked evaluation.
    Library code that is not in the EMQX repository (hocon's ``hoconsc``/``hocon_schema``,
    typerefl, OTP's ``lists``/``maps``/``proplists``/``string``...) is modelled by small Python
    builtins below; the few macros needed from hocon's and typerefl's headers are in
    ``EXTERNAL_MACROS``.

Output format
    ``{"emqx_version", "source": {repository, ref, commit}, "generator", "roots", "schema",
    "structs"}``; ``schema`` is a struct node whose fields are the roots.  Node kinds: ``struct``
    (``name`` is ``module:fields-name``, ``fields``), ``map`` (``key``, ``value``), ``array``
    (``item``), ``union`` (``members``), ``enum`` (``values``, as strings), ``scalar`` (``type``,
    and ``min``/``max`` for integer ranges), ``singleton`` (``value``), ``any`` (``why``) and
    ``ref`` (``name``).  Every struct is defined once, in the top-level ``structs`` table keyed by
    ``module:name``, and referred to as ``{"kind": "ref", "name": "module:name"}`` everywhere
    (inlining would repeat e.g. the authentication providers under every listener type and
    gateway: about 6 MB instead of 0.6 MB); cycles need no special case.
    A field node may carry ``hidden`` (``importance => hidden``), ``no_doc`` (``importance =>
    no_doc``: configurable, but left out of EMQX's documentation), ``deprecated`` and ``aliases``.
    Descriptions and defaults are never copied.

What it cannot evaluate, and why
    Anything the source leaves to run time becomes ``any``: ``application:get_env`` keys an app
    does not set in its ``.app.src``/``mix.exs``, ETS, ``erlang:node()``, ``io_lib:format``
    directives beyond ~s/~p/~w, calls into code outside the repository (plugins, NIFs, deps other
    than the modelled ones) and ``receive``.  No configuration is loaded, so ``emqx_config:get``
    raises as it would in EMQX's docgen run (schema code that calls it catches that).  For the two commits in tests/data
    and the 5.8.1 comparison that is nothing: the ``any`` count is 0.  Modelled run-time context,
    chosen to match how EMQX builds its own schema dump (``emqx_conf:gen_schema_json/3``):
    - every app of the repo is loaded; ``application:get_env`` reads their ``env`` (this is how the
      connector/action/gateway registries find their modules); ``Module:module_info(attributes)``
      returns ``-behaviour`` and custom attributes such as ``-gateway(#{...})``;
    - ``os:getenv`` is unset, ``os:type()`` is ``{unix, linux}``, it is not a ``TEST`` build;
    - ``persistent_term`` starts empty and is written by the evaluated code itself;
    - union selector funs are called with ``all_union_members``, as hocon's docgen does.
    ``OVERRIDES`` is the (small, cited) table of run-time values we set by hand.

Regenerating on an appVersion bump
    ``scripts/emqx_schema.py --repo <bare emqx git dir> --commit <sha of the tag or release branch>
    --ref <tag or branch> --version <appVersion> --out tests/data/emqx-schema-<appVersion>.json``,
    then ``scripts/emqx_schema_compare.py`` against EMQX's published dump of the nearest version,
    and review the diff of the data file.

Scalar type names (``scalar.type``) map from typerefl / emqx_schema types as follows:
    ``boolean()`` -> boolean; ``integer()``/``non_neg_integer()``/``pos_integer()``/``range(A, B)``/
    ``A..B`` types -> integer (+ ``min``/``max``); ``float()`` -> float; ``number()`` -> number;
    ``string()``/``binary()``/``nonempty_string()``/``iodata()``... -> string; ``atom()`` -> atom;
    ``map()`` -> map (free-form object); ``list(T)`` -> array; ``emqx_schema:duration()`` and the
    other reflected emqx types keep their own name (duration, duration_ms, duration_s,
    timeout_duration*, bytesize, wordsize, percent, ip_port, url, comma_separated_list,
    comma_separated_atoms, comma_separated_binary, json_binary, template, cipher, secret...);
    typerefl aliases (``typerefl:alias(Name, T)``) keep their name: ``emqx_schema:qos()`` -> qos (0, 1
    or 2), ``emqx_coap_schema:block_size()`` -> block_size...
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

# ----------------------------------------------------------------------------------------------
# Tables
# ----------------------------------------------------------------------------------------------

# Macros from headers outside the EMQX repository (hocon/include/hoconsc.hrl,
# hocon/include/hocon_types.hrl, typerefl/include/types.hrl), as Erlang source text.
# Keys are (name, arity); arity None is the macro used without parentheses.
EXTERNAL_MACROS: dict[tuple[str, int | None], tuple[list[str], str]] = {
    ("IMPORTANCE_HIGH", None): ([], "high"),
    ("IMPORTANCE_MEDIUM", None): ([], "medium"),
    ("IMPORTANCE_LOW", None): ([], "low"),
    ("IMPORTANCE_NO_DOC", None): ([], "no_doc"),
    ("IMPORTANCE_HIDDEN", None): ([], "hidden"),
    ("DEFAULT_IMPORTANCE", None): ([], "high"),
    ("ARRAY", 1): (["T"], "{array, T}"),
    ("UNION", 1): (["T"], "{union, T, undefined}"),
    ("UNION", 2): (["T", "N"], "{union, T, N}"),
    ("ENUM", 1): (["S"], "{enum, S}"),
    ("REF", 1): (["N"], "{ref, N}"),
    ("R_REF", 2): (["M", "N"], "{ref, M, N}"),
    ("R_REF", 1): (["N"], "{ref, ?MODULE, N}"),
    ("LAZY", 1): (["T"], "{lazy, T}"),
    ("MAP", 2): (["N", "T"], "{map, N, T}"),
    ("DESC", 2): (["NS", "ID"], "{desc, NS, ID}"),
    ("DESC", 1): (["ID"], "{desc, ?MODULE, ID}"),
    ("HOCON", 1): (["T"], "hoconsc:mk(T)"),
    ("HOCON", 2): (["T", "M"], "hoconsc:mk(T, M)"),
    ("IS_TYPEREFL", 1): (["X"], "(is_tuple(X) andalso element(1, X) =:= '$type_refl')"),
    # OTP predefined macros that matter for -if conditions
    ("OTP_RELEASE", None): ([], "27"),
}

# Names typerefl's types.hrl imports from module typerefl (they are called unqualified).
TYPEREFL_IMPORTS = {
    "any",
    "atom",
    "binary",
    "boolean",
    "float",
    "function",
    "integer",
    "list",
    "map",
    "nonempty_list",
    "number",
    "pid",
    "port",
    "reference",
    "term",
    "tuple",
    "byte",
    "char",
    "arity",
    "module",
    "non_neg_integer",
    "pos_integer",
    "string",
    "nil",
    "maybe_improper_list",
    "nonempty_maybe_improper_list",
    "nonempty_string",
    "iolist",
    "iodata",
    "union",
    "range",
    "printable_latin1_list",
    "printable_unicode_list",
    "mfa",
    "timeout",
    "identifier",
}

# Values computed at run time that we know anyway.  Keyed by "module:function/arity"; the value
# is Erlang source text evaluated in place of the call.  Keep this small and cited.
OVERRIDES: dict[str, str] = {
    # apps/emqx_utils/src/emqx_utils.erl interactive_load/1 loads a beam when running
    # interactively; for us every module is "loaded" (its source is in the repo).
    "emqx_utils:interactive_load/1": "ok",
    # apps/emqx/src/emqx_release.erl (5.x) edition/0 reads persistent_term 'EMQX_RELEASE_EDITION',
    # put at boot from ?EMQX_RELEASE_EDITION, which rebar.config.erl sets to ee for the Enterprise
    # build (6.x returns ee directly).
    "emqx_release:edition/0": "ee",
}

# Predefined preprocessor flags (rebar.config / build): the EE release, not a TEST build.
PREDEFINED_FLAGS = {"EMQX_RELEASE_EDITION": "ee"}


# ----------------------------------------------------------------------------------------------
# Erlang terms
# ----------------------------------------------------------------------------------------------


class Atom(str):
    """An Erlang atom (a str subclass so it hashes and prints as its name)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"'{self}'"


TRUE, FALSE, UNDEFINED, OK = Atom("true"), Atom("false"), Atom("undefined"), Atom("ok")


@dataclass(frozen=True)
class Unknown:
    """A value the source does not determine statically."""

    why: str


@dataclass
class TypeRefl:
    """A typerefl type: a scalar name, integer bounds, or a composite (list/union/map)."""

    name: str
    lo: Any = None
    hi: Any = None
    args: tuple = ()


@dataclass
class Closure:
    clauses: list
    env: dict
    module: str
    name: str | None = None


@dataclass(frozen=True)
class FunRef:
    module: str
    name: str
    arity: int


class EMap:
    """An immutable-by-convention Erlang map with arbitrary term keys."""

    __slots__ = ("d",)

    def __init__(self, items: Iterable[tuple[Any, Any]] = ()) -> None:
        self.d: dict[Any, tuple[Any, Any]] = {}
        for k, v in items:
            self.d[freeze(k)] = (k, v)

    def get(self, k: Any, default: Any = None) -> Any:
        kv = self.d.get(freeze(k))
        return default if kv is None else kv[1]

    def has(self, k: Any) -> bool:
        return freeze(k) in self.d

    def items(self) -> list[tuple[Any, Any]]:
        return sorted(self.d.values(), key=lambda kv: sort_key(kv[0]))

    def put(self, k: Any, v: Any) -> EMap:
        m = EMap()
        m.d = dict(self.d)
        m.d[freeze(k)] = (k, v)
        return m

    def remove(self, k: Any) -> EMap:
        m = EMap()
        m.d = dict(self.d)
        m.d.pop(freeze(k), None)
        return m

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EMap) and {k: freeze(v[1]) for k, v in self.d.items()} == {
            k: freeze(v[1]) for k, v in other.d.items()
        }

    def __hash__(self) -> int:
        return hash(freeze(self))


def freeze(t: Any) -> Any:
    """A hashable, structurally-equal key for any term."""
    if isinstance(t, list):
        return ("$l", tuple(freeze(x) for x in t))
    if isinstance(t, tuple):
        return ("$t", tuple(freeze(x) for x in t))
    if isinstance(t, EMap):
        return ("$m", tuple(sorted(((k, freeze(v[1])) for k, v in t.d.items()), key=repr)))
    if isinstance(t, Atom):
        return ("$a", str(t))
    if isinstance(t, float) and t == int(t):
        return ("$f", t)
    if isinstance(t, TypeRefl):
        return ("$type", t.name, freeze(t.lo), freeze(t.hi), freeze(t.args))
    if isinstance(t, Closure):
        return ("$fun", id(t))
    return t


def type_order(t: Any) -> int:
    if isinstance(t, int | float):
        return 0
    if isinstance(t, Atom):
        return 1
    if isinstance(t, Closure | FunRef):
        return 3
    if isinstance(t, tuple):
        return 5
    if isinstance(t, EMap):
        return 6
    if isinstance(t, list):
        return 7
    if isinstance(t, bytes):
        return 8
    return 9


def sort_key(t: Any) -> Any:
    """Erlang term order, close enough for sorting maps and lists of literals."""
    o = type_order(t)
    if o == 0:
        return (0, t)
    if o == 1:
        return (1, str(t))
    if o == 5:
        return (5, len(t), tuple(sort_key(x) for x in t))
    if o == 7:
        return (7, tuple(sort_key(x) for x in t))
    if o == 8:
        return (8, t)
    return (o, repr(t))


def term_eq(a: Any, b: Any) -> bool:
    if isinstance(a, Unknown) or isinstance(b, Unknown):
        raise Stuck(a.why if isinstance(a, Unknown) else b.why)
    return freeze(a) == freeze(b)


def to_text(t: Any) -> str | None:
    """Atom/string/binary -> Python str (None when t is not text)."""
    if isinstance(t, Atom):
        return str(t)
    if isinstance(t, bytes):
        return t.decode("utf-8", "replace")
    if isinstance(t, list) and all(isinstance(c, int) and not isinstance(c, bool) for c in t):
        try:
            return "".join(chr(c) for c in t)
        except (ValueError, OverflowError):
            return None
    return None


def estr(s: str) -> list[int]:
    return [ord(c) for c in s]


def show(t: Any) -> str:
    """Short Erlang-ish rendering of a term (for names and messages)."""
    s = to_text(t)
    if s is not None and not isinstance(t, Atom):
        return s if isinstance(t, bytes) or t else '""'
    if isinstance(t, Atom):
        return str(t)
    if isinstance(t, tuple):
        return "{" + ",".join(show(x) for x in t) + "}"
    if isinstance(t, list):
        return "[" + ",".join(show(x) for x in t) + "]"
    return repr(t)


# ----------------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------------


class Stuck(Exception):
    """Evaluation depends on an Unknown value; the enclosing call becomes Unknown."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class ErlException(Exception):
    """An Erlang exception (error/throw/exit) raised by the evaluated code."""

    def __init__(self, cls: str, reason: Any) -> None:
        super().__init__(f"{cls}:{show(reason)}")
        self.cls = cls
        self.reason = reason


class ParseError(Exception):
    pass


# ----------------------------------------------------------------------------------------------
# Tokenizer
# ----------------------------------------------------------------------------------------------


@dataclass
class Tok:
    kind: str  # atom var int float str bin punct kw dot eof
    value: Any
    line: int


RESERVED = set(
    "after and andalso band begin bnot bor bsl bsr bxor case catch cond div end fun if let not of "
    "or orelse receive rem try when xor maybe else".split()
)
PUNCTS = sorted(
    "-> => := :: || << >> <- <= =< >= == =:= =/= /= ++ -- ... .. ?= ?? ! | # ( ) [ ] { } , ; : "
    "+ - * / = < > ? .".split(),
    key=len,
    reverse=True,
)
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "s": " ", "e": "\x1b", "b": "\b", "d": "\x7f", "f": "\f", "v": "\v"}
NAME_CHARS = re.compile(r"[A-Za-z0-9_@]*")
NUM_RE = re.compile(r"(\d[\d_]*)#([0-9A-Za-z_]+)|\d[\d_]*\.\d[\d_]*(?:[eE][+-]?\d+)?|\d[\d_]*")


def _quoted(src: str, i: int) -> tuple[str, int]:
    """The text of the quoted atom or string whose opening quote is src[i], escapes decoded; return
    (text, index after the closing quote)."""
    quote, buf, i = src[i], [], i + 1
    while src[i] != quote:
        if src[i] == "\\":
            ch, i = _escape(src, i + 1)
            buf.append(ch)
        else:
            buf.append(src[i])
            i += 1
    return "".join(buf), i + 1


def _escape(src: str, i: int) -> tuple[str, int]:
    """Decode the escape sequence after a backslash at src[i - 1]; return (char, next index)."""
    c = src[i]
    if c in ESCAPES:
        return ESCAPES[c], i + 1
    if c in "01234567":
        j = i
        while j < len(src) and j < i + 3 and src[j] in "01234567":
            j += 1
        return chr(int(src[i:j], 8)), j
    if c == "x":
        if src[i + 1] == "{":
            j = src.index("}", i)
            return chr(int(src[i + 2 : j], 16)), j + 1
        return chr(int(src[i + 1 : i + 3], 16)), i + 3
    if c == "^":
        return chr(ord(src[i + 1]) & 31), i + 2
    return c, i + 1


SIGIL_CLOSE = {"(": ")", "[": "]", "{": "}", "<": ">", "/": "/", "|": "|", "'": "'", '"': '"', "`": "`", "#": "#"}


def _sigil(src: str, i: int) -> tuple[str, str, int] | None:
    """OTP 27 sigils: ~"..", ~b|..|, ~s(..) ... -> (token kind, text, next index), or None."""
    j = i + 1
    letter = ""
    if j < len(src) and src[j].isalpha():
        letter, j = src[j], j + 1
    if j >= len(src) or src[j] not in SIGIL_CLOSE:
        return None
    if src.startswith('"""', j):
        end = src.index('"""', j + 3)
        text, nxt = src[j + 3 : end].strip("\n"), end + 3
    else:
        end = src.index(SIGIL_CLOSE[src[j]], j + 1)
        text, nxt = src[j + 1 : end], end + 1
    return ("str" if letter in ("s", "S") else "bin"), text, nxt


def tokenize(src: str) -> list[Tok]:
    toks: list[Tok] = []
    i, n, line = 0, len(src), 1
    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
            i += 1
        elif c.isspace():
            i += 1
        elif c == "%":
            while i < n and src[i] != "\n":
                i += 1
        elif c.isalpha() and c.islower():
            m = NAME_CHARS.match(src, i)
            word = m.group(0)
            toks.append(Tok("kw" if word in RESERVED else "atom", word, line))
            i = m.end()
        elif c.isalpha() or c == "_":
            m = NAME_CHARS.match(src, i)
            toks.append(Tok("var", m.group(0), line))
            i = m.end()
        elif c.isdigit():
            m = NUM_RE.match(src, i)
            text = m.group(0).replace("_", "")
            if m.group(1):
                toks.append(Tok("int", int(m.group(2).replace("_", ""), int(m.group(1))), line))
            elif "." in text:
                toks.append(Tok("float", float(text), line))
            else:
                toks.append(Tok("int", int(text), line))
            i = m.end()
        elif c == "$":
            if src[i + 1] == "\\":
                ch, i = _escape(src, i + 2)
            else:
                ch, i = src[i + 1], i + 2
            toks.append(Tok("int", ord(ch), line))
        elif c == "'":
            text, i = _quoted(src, i)
            toks.append(Tok("atom", text, line))
        elif c == "~" and _sigil(src, i) is not None:
            kind, text, i = _sigil(src, i)
            line += text.count("\n")
            toks.append(Tok(kind, text, line))
        elif c == '"':
            kind = "str"
            if src.startswith('"""', i):
                j = src.index('"""', i + 3)
                text = src[i + 3 : j]
                line += text.count("\n")
                toks.append(Tok(kind, text.strip("\n"), line))
                i = j + 3
                continue
            start = i
            text, i = _quoted(src, i)
            line += src.count("\n", start, i)
            toks.append(Tok(kind, text, line))
        elif c == "." and (i + 1 >= n or src[i + 1].isspace() or src[i + 1] == "%"):
            toks.append(Tok("dot", ".", line))
            i += 1
        else:
            for p in PUNCTS:
                if src.startswith(p, i):
                    toks.append(Tok("punct", p, line))
                    i += len(p)
                    break
            else:
                raise ParseError(f"line {line}: unexpected character {c!r}")
    toks.append(Tok("eof", None, line))
    return toks


def split_forms(toks: list[Tok]) -> list[list[Tok]]:
    forms, cur = [], []
    for t in toks:
        if t.kind == "dot":
            forms.append(cur)
            cur = []
        elif t.kind != "eof":
            cur.append(t)
    if cur:
        forms.append(cur)
    return forms


# ----------------------------------------------------------------------------------------------
# Parser: tokens of one form -> AST tuples
# ----------------------------------------------------------------------------------------------
#
# Expressions: ("lit", term) ("var", name) ("tuple", [e]) ("cons", [e], tail|None)
# ("lc", e, [qual]) ("bin", [(e, size, types)]) ("map", base|None, [(op, k, v)])
# ("record", base|None, name, [(field, e)]) ("recidx", base|None, name, field)
# ("call", fexpr, [e]) ("remote", m, f) ("op", op, a, b) ("unop", op, a) ("match", p, e)
# ("case", e, [clause]) ("if", [clause]) ("try", [e], [clause], [clause], [e])
# ("fun", [clause], name|None) ("funref", m|None, f, arity) ("block", [e]) ("catch", e)
# ("receive", ...) -> unsupported; clause = (patterns, guards, body).

BINOPS = [
    (["orelse"], "right"),
    (["andalso"], "right"),
    (["==", "/=", "=<", "<", ">=", ">", "=:=", "=/="], "none"),
    (["++", "--"], "right"),
    (["+", "-", "bor", "bxor", "bsl", "bsr", "or", "xor"], "left"),
    (["/", "*", "div", "rem", "band", "and"], "left"),
]


class Parser:
    def __init__(self, toks: list[Tok]) -> None:
        self.toks = toks + [Tok("eof", None, toks[-1].line if toks else 0)]
        self.i = 0
        self.no_remote = False  # inside `catch Class:Reason:Stack ->` patterns

    # -- helpers
    def peek(self, k: int = 0) -> Tok:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def at(self, value: str, k: int = 0) -> bool:
        t = self.peek(k)
        return t.kind in ("punct", "kw") and t.value == value

    def take(self) -> Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def expect(self, value: str) -> Tok:
        t = self.take()
        if t.kind not in ("punct", "kw") or t.value != value:
            raise ParseError(f"line {t.line}: expected {value!r}, got {t.value!r}")
        return t

    # -- forms
    def function(self) -> tuple[str, int, list]:
        clauses, name = [], None
        while True:
            t = self.take()
            if t.kind != "atom":
                raise ParseError(f"line {t.line}: expected function name, got {t.value!r}")
            name = t.value
            clauses.append(self.clause_after_name())
            if self.at(";"):
                self.take()
                continue
            break
        if self.peek().kind != "eof":
            raise ParseError(f"line {self.peek().line}: trailing tokens in function {name}")
        return name, len(clauses[0][0]), clauses

    def clause_after_name(self) -> tuple:
        self.expect("(")
        pats = self.exprs_until(")")
        guards = self.guards()
        self.expect("->")
        return (pats, guards, self.body())

    def guards(self) -> list:
        if not self.at("when"):
            return []
        self.take()
        alts = [[self.expr()]]
        while self.at(",") or self.at(";"):
            if self.take().value == ",":
                alts[-1].append(self.expr())
            else:
                alts.append([self.expr()])
        return alts

    def body(self) -> list:
        es = [self.expr()]
        while self.at(","):
            self.take()
            es.append(self.expr())
        return es

    def exprs_until(self, close: str) -> list:
        es = []
        if self.at(close):
            self.take()
            return es
        es.append(self.expr())
        while self.at(","):
            self.take()
            es.append(self.expr())
        self.expect(close)
        return es

    def cr_clauses(self) -> list:
        cl = []
        while True:
            pat = self.expr()
            guards = self.guards()
            self.expect("->")
            cl.append(([pat], guards, self.body()))
            if self.at(";"):
                self.take()
                continue
            return cl

    # -- expressions
    def expr(self) -> tuple:
        if self.at("catch"):
            self.take()
            return ("catch", self.expr())
        left = self.binop(0)
        if self.at("=") or self.at("!") or self.at("?="):
            op = self.take().value
            right = self.expr()
            return ("match", left, right) if op in ("=", "?=") else ("send", left, right)
        return left

    def binop(self, level: int) -> tuple:
        if level == len(BINOPS):
            return self.unary()
        ops, assoc = BINOPS[level]
        left = self.binop(level + 1)
        while self.peek().kind in ("punct", "kw") and self.peek().value in ops:
            op = self.take().value
            right = self.binop(level if assoc == "right" else level + 1)
            left = ("op", op, left, right)
            if assoc != "left":
                break
        return left

    def unary(self) -> tuple:
        if self.peek().kind in ("punct", "kw") and self.peek().value in ("-", "+", "not", "bnot"):
            op = self.take().value
            return ("unop", op, self.unary())
        return self.postfix()

    def postfix(self) -> tuple:
        e = self.primary()
        while True:
            if self.at(":") and not self.no_remote:
                self.take()
                e = ("remote", e, self.primary())
            elif self.at("("):
                self.take()
                e = ("call", e, self.exprs_until(")"))
            elif self.at("#"):
                self.take()
                e = self.map_or_record(e)
            else:
                return e

    def map_or_record(self, base: tuple | None) -> tuple:
        if self.at("{"):
            self.take()
            assocs = []
            while not self.at("}"):
                k = self.expr()
                op = self.take().value
                assocs.append((op, k, self.expr()))
                if self.at(","):
                    self.take()
            self.take()
            return ("map", base, assocs)
        name = self.take().value
        if self.at("."):
            self.take()
            return ("recidx", base, name, self.take().value)
        self.expect("{")
        fields = []
        while not self.at("}"):
            f = self.take().value
            self.expect("=")
            fields.append((f, self.expr()))
            if self.at(","):
                self.take()
        self.take()
        return ("record", base, name, fields)

    def primary(self) -> tuple:
        t = self.take()
        k, v = t.kind, t.value
        if k == "var":
            return ("var", v)
        if k == "atom":
            return ("lit", Atom(v))
        if k in ("int", "float"):
            return ("lit", v)
        if k in ("str", "bin"):
            while self.peek().kind == "str":
                v += self.take().value
            return ("lit", v.encode() if k == "bin" else estr(v))
        if k == "punct":
            if v == "(":
                e = self.expr()
                self.expect(")")
                return e
            if v == "{":
                return ("tuple", self.exprs_until("}"))
            if v == "[":
                return self.list_rest()
            if v == "<<":
                return self.binary_rest()
            if v == "#":
                return self.map_or_record(None)
        if k == "kw":
            if v == "begin":
                b = self.body()
                self.expect("end")
                return ("block", b)
            if v == "case":
                e = self.expr()
                self.expect("of")
                cl = self.cr_clauses()
                self.expect("end")
                return ("case", e, cl)
            if v == "if":
                cl = []
                while True:
                    alts = [[self.expr()]]
                    while self.at(",") or self.at(";"):
                        if self.take().value == ",":
                            alts[-1].append(self.expr())
                        else:
                            alts.append([self.expr()])
                    self.expect("->")
                    cl.append(([], alts, self.body()))
                    if self.at(";"):
                        self.take()
                        continue
                    break
                self.expect("end")
                return ("if", cl)
            if v == "fun":
                return self.fun_rest()
            if v == "try":
                return self.try_rest()
            if v == "maybe":
                b = self.body()
                if self.at("else"):
                    self.take()
                    self.cr_clauses()
                self.expect("end")
                return ("block", b)
            if v == "receive":
                depth = 1
                while depth:
                    tv = self.take()
                    if tv.kind == "kw" and tv.value in ("case", "if", "receive", "try", "begin", "fun", "maybe"):
                        depth += 1
                    elif tv.kind == "kw" and tv.value == "end":
                        depth -= 1
                return ("lit", Unknown("receive expression"))
        raise ParseError(f"line {t.line}: unexpected {v!r}")

    def list_rest(self) -> tuple:
        if self.at("]"):
            self.take()
            return ("lit", [])
        first = self.expr()
        if self.at("||"):
            self.take()
            quals = []
            while True:
                q = self.expr()
                if self.at("<-") or self.at("<="):
                    self.take()
                    q = ("gen", q, self.expr())
                quals.append(q)
                if self.at(","):
                    self.take()
                    continue
                break
            self.expect("]")
            return ("lc", first, quals)
        elems = [first]
        tail = None
        while self.at(","):
            self.take()
            elems.append(self.expr())
        if self.at("|"):
            self.take()
            tail = self.expr()
        self.expect("]")
        return ("cons", elems, tail)

    def binary_rest(self) -> tuple:
        segs = []
        if self.at(">>"):
            self.take()
            return ("bin", segs)
        while True:
            if self.at("-"):
                self.take()
                e = ("unop", "-", self.primary())
            else:
                e = self.primary()
            size = None
            if self.at(":"):
                self.take()
                size = self.primary()
            types = []
            if self.at("/"):
                self.take()
                types.append(self.take().value)
                while self.at("-"):
                    self.take()
                    types.append(self.take().value)
            segs.append((e, size, types))
            if self.at(","):
                self.take()
                continue
            if self.at("||"):
                raise ParseError("binary comprehensions are not supported")
            self.expect(">>")
            return ("bin", segs)

    def fun_rest(self) -> tuple:
        if self.at("("):
            cl = []
            while True:
                cl.append(self.clause_after_name())
                if self.at(";"):
                    self.take()
                    continue
                break
            self.expect("end")
            return ("fun", cl, None)
        if self.peek().kind == "var" and self.at("(", 1):
            name = self.take().value
            cl = [self.clause_after_name()]
            while self.at(";"):
                self.take()
                self.take()
                cl.append(self.clause_after_name())
            self.expect("end")
            return ("fun", cl, name)
        a = self.primary()
        if self.at(":"):
            self.take()
            f = self.primary()
            self.expect("/")
            return ("funref", a, f, self.primary())
        self.expect("/")
        return ("funref", None, a, self.primary())

    def try_rest(self) -> tuple:
        body = self.body()
        of_cl, catch_cl, after = [], [], []
        if self.at("of"):
            self.take()
            of_cl = self.cr_clauses()
        if self.at("catch"):
            self.take()
            while True:
                self.no_remote = True
                p = self.expr()
                if self.at(":"):
                    self.take()
                    p2 = self.expr()
                    if self.at(":"):
                        self.take()
                        self.expr()
                    p = ("tuple", [p, p2])
                else:
                    p = ("tuple", [("lit", Atom("throw")), p])
                self.no_remote = False
                guards = self.guards()
                self.expect("->")
                catch_cl.append(([p], guards, self.body()))
                if self.at(";"):
                    self.take()
                    continue
                break
        if self.at("after"):
            self.take()
            after = self.body()
        self.expect("end")
        return ("try", body, of_cl, catch_cl, after)


# ----------------------------------------------------------------------------------------------
# Source access and preprocessing
# ----------------------------------------------------------------------------------------------


class Repo:
    """Files of one commit of a git directory, read without a work tree."""

    def __init__(self, git_dir: str, commit: str) -> None:
        self.git_dir, self.commit = git_dir, commit
        out = subprocess.run(
            ["git", "-C", git_dir, "ls-tree", "-r", "--name-only", commit],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        self.paths = set(out.splitlines())
        self.modules: dict[str, str] = {}
        for p in sorted(self.paths):
            parts = p.split("/")
            if len(parts) >= 4 and parts[0] == "apps" and parts[2] == "src" and p.endswith(".erl"):
                self.modules.setdefault(parts[-1][:-4], p)
        self.apps = sorted({p.split("/")[1] for p in self.paths if p.startswith("apps/") and p.count("/") >= 2})
        self._app_env: dict[str, EMap] = {}
        self._cat = subprocess.Popen(
            ["git", "-C", git_dir, "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )

    def read(self, path: str) -> str:
        self._cat.stdin.write(f"{self.commit}:{path}\n".encode())
        self._cat.stdin.flush()
        header = self._cat.stdout.readline().split()
        if len(header) < 3:
            raise FileNotFoundError(path)
        data = self._cat.stdout.read(int(header[2]))
        self._cat.stdout.read(1)
        return data.decode("utf-8", "replace")

    def app_env(self, app: str) -> EMap | None:
        """The `env` of an application's .app.src (Erlang) or mix.exs (Elixir), atoms/lists only."""
        if app in self._app_env:
            return self._app_env[app]
        env = None
        src, mix = f"apps/{app}/src/{app}.app.src", f"apps/{app}/mix.exs"
        if src in self.paths:
            term = Parser(tokenize(self.read(src))[:-2]).expr()
            env = EMap()
            for item in term[1][2][1] if term[0] == "tuple" else []:
                if item[0] == "tuple" and item[1][0] == ("lit", Atom("env")):
                    for kv in _literal(item[1][1]):
                        env = env.put(kv[0], kv[1])
        elif mix in self.paths:
            env = EMap()
            text = self.read(mix)
            m = re.search(r"\benv:\s*\[", text)
            if m:
                depth, i = 1, m.end()
                while depth and i < len(text):
                    depth += {"[": 1, "]": -1}.get(text[i], 0)
                    i += 1
                for km in re.finditer(r"(\w+):\s*\[([^\]]*)\]", text[m.end() : i - 1]):
                    env = env.put(Atom(km.group(1)), [Atom(a) for a in re.findall(r":(\w+)", km.group(2))])
        self._app_env[app] = env
        return env

    def close(self) -> None:
        self._cat.stdin.close()
        self._cat.wait()


def _literal(e: tuple) -> Any:
    """A literal term from its AST (for .app.src files)."""
    if e[0] == "lit":
        return e[1]
    if e[0] == "tuple":
        return tuple(_literal(x) for x in e[1])
    if e[0] == "cons":
        return [_literal(x) for x in e[1]] + (_literal(e[2]) if e[2] else [])
    return Unknown("non-literal in .app.src")


@dataclass
class Module:
    name: str
    path: str
    functions: dict[tuple[str, int], list] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)  # function name -> parse error
    records: dict[str, list] = field(default_factory=dict)
    reflected: set[tuple[str, int]] = field(default_factory=set)
    types: dict[str, list[Tok]] = field(default_factory=dict)
    from_string: set[str] = field(default_factory=set)
    imports: dict[tuple[str, int], str] = field(default_factory=dict)
    exported: set[tuple[str, int]] = field(default_factory=set)
    behaviours: list[str] = field(default_factory=list)
    attributes: list[tuple[str, tuple]] = field(default_factory=list)  # custom -name(Term). attributes
    typerefl: bool = False  # includes typerefl/include/types.hrl


def _tok(kind: str, value: Any, line: int = 0) -> Tok:
    return Tok(kind, value, line)


def _split_args(toks: list[Tok], start: int) -> tuple[list[list[Tok]], int]:
    """Split the parenthesised, comma separated token groups starting at toks[start] == '('."""
    depth, args, cur, i = 0, [], [], start
    openers, closers = {"(", "[", "{", "<<"}, {")", "]", "}", ">>"}
    kw_open = {"case", "if", "receive", "try", "begin", "fun", "maybe"}
    while i < len(toks):
        t = toks[i]
        if t.kind == "punct" and t.value in openers or (t.kind == "kw" and t.value in kw_open):
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            is_fun_ref = nxt is not None and not (nxt.kind == "punct" and nxt.value == "(") and nxt.kind != "var"
            if t.kind == "kw" and t.value == "fun" and is_fun_ref:
                pass  # `fun name/arity` and `fun ?MODULE:f/1`: no matching `end`
            else:
                depth += 1
            if depth == 1 and t.value == "(" and i == start:
                i += 1
                continue
        elif t.kind == "punct" and t.value in closers or (t.kind == "kw" and t.value == "end"):
            depth -= 1
            if depth == 0:
                if cur or args:
                    args.append(cur)
                return args, i + 1
        elif t.kind == "punct" and t.value == "," and depth == 1:
            args.append(cur)
            cur = []
            i += 1
            continue
        cur.append(t)
        i += 1
    raise ParseError("unterminated macro arguments")


# Attributes that are not returned by module_info(attributes) (or that we handle ourselves).
STANDARD_ATTRIBUTES = set(
    "module export import include include_lib define undef ifdef ifndef if elif else endif record spec type "
    "opaque callback export_type optional_callbacks file compile dialyzer doc moduledoc reflect_type "
    "typerefl_from_string elvis behaviour behavior feature nifs on_load".split()
)


class Preprocessor:
    """Expands macros and handles -include/-define/-ifdef for one module."""

    def __init__(self, repo: Repo, interp: Interp) -> None:
        self.repo, self.interp = repo, interp
        self.macros: dict[tuple[str, int | None], tuple[list[str], list[Tok]]] = {}
        for key, (params, body) in EXTERNAL_MACROS.items():
            self.macros[key] = (params, tokenize(body)[:-1])
        for name, value in PREDEFINED_FLAGS.items():
            self.macros[(name, None)] = ([], tokenize(value)[:-1])

    def defined(self, name: str) -> bool:
        return any(k[0] == name for k in self.macros)

    def expand(self, toks: list[Tok], depth: int = 0) -> list[Tok]:
        if depth > 30:
            raise ParseError("macro expansion too deep")
        out, i, changed = [], 0, False
        while i < len(toks):
            t = toks[i]
            if t.kind == "punct" and t.value in ("?", "??") and i + 1 < len(toks):
                name = toks[i + 1].value
                if t.value == "??":
                    out.append(_tok("str", "??" + str(name), t.line))
                    i += 2
                    continue
                i += 2
                args = None
                has_parens = i < len(toks) and toks[i].kind == "punct" and toks[i].value == "("
                if has_parens:
                    args, end = _split_args(toks, i)
                    if (name, len(args)) in self.macros:
                        i = end
                    else:
                        args = None
                if args is not None:
                    params, body = self.macros[(name, len(args))]
                    subst = dict(zip(params, args, strict=True))
                    for bt in body:
                        if bt.kind == "var" and bt.value in subst:
                            out.extend(subst[bt.value])
                        else:
                            out.append(Tok(bt.kind, bt.value, t.line))
                elif (name, None) in self.macros:
                    out.extend(Tok(bt.kind, bt.value, t.line) for bt in self.macros[(name, None)][1])
                else:
                    # Unknown macro (from a header outside the repo): evaluates to Unknown.
                    out.append(_tok("atom", f"$undefined_macro:{name}", t.line))
                    if has_parens:
                        _, i = _split_args(toks, i)
                changed = True
                continue
            out.append(t)
            i += 1
        return self.expand(out, depth + 1) if changed else out

    def resolve_include(self, path: str, from_path: str, lib: bool) -> str | None:
        app_dir = "/".join(from_path.split("/")[:2])
        cands = []
        if lib:
            app, _, rest = path.partition("/")
            cands.append(f"apps/{app}/{rest}")
        else:
            base = from_path.rsplit("/", 1)[0]
            cands += [f"{base}/{path}", f"{app_dir}/include/{path}", f"{app_dir}/src/{path}", f"{app_dir}/{path}"]
        for c in cands:
            parts: list[str] = []
            for seg in c.split("/"):
                if seg == "..":
                    if parts:
                        parts.pop()
                elif seg != ".":
                    parts.append(seg)
            norm = "/".join(parts)
            if norm in self.repo.paths:
                return norm
        return None

    def load(self, mod: Module, path: str, depth: int = 0) -> None:
        forms = split_forms(tokenize(self.repo.read(path)))
        active: list[bool] = []
        for form in forms:
            if not form:
                continue
            is_attr = form[0].kind == "punct" and form[0].value == "-" and len(form) > 1
            attr = form[1].value if is_attr and form[1].kind in ("atom", "kw") else None
            if attr in ("ifdef", "ifndef"):
                name = form[3].value
                cond = self.defined(name) if attr == "ifdef" else not self.defined(name)
                active.append(cond if all(active) else False)
                continue
            if attr in ("if", "elif"):
                cond = self.eval_condition(form[2:]) if all(active) else False
                if attr == "elif":
                    prev = active.pop()
                    cond = (not prev) and cond if all(active) else False
                active.append(cond)
                continue
            if attr == "else":
                prev = active.pop()
                active.append((not prev) and all(active))
                continue
            if attr == "endif":
                active.pop()
                continue
            if not all(active):
                continue
            if is_attr:
                try:
                    self.attribute(mod, attr, form, path, depth)
                except (ParseError, IndexError, AttributeError) as exc:
                    mod.broken[f"-{attr}"] = str(exc)
            else:
                self.function(mod, form)

    def eval_condition(self, toks: list[Tok]) -> bool:
        try:
            toks = self.expand(toks)
            e = Parser(toks).expr()
            return self.interp.eval(e, {}, "$preprocessor") == TRUE
        except (ParseError, Stuck, ErlException, KeyError):
            return False

    def attribute(self, mod: Module, attr: str | None, form: list[Tok], path: str, depth: int) -> None:
        if attr == "define":
            name = form[3].value
            if form[4].kind == "punct" and form[4].value == "(":
                args, end = _split_args(form, 4)
                params = [a[0].value for a in args]
                self.macros[(name, len(params))] = (params, form[end + 1 : -1])
            else:
                self.macros[(name, None)] = ([], form[5:-1])
        elif attr == "undef":
            for k in [k for k in self.macros if k[0] == form[3].value]:
                del self.macros[k]
        elif attr in ("include", "include_lib"):
            inc = form[3].value
            if inc.startswith("typerefl/") or inc == "hocon/include/hoconsc.hrl":
                mod.typerefl = True
            target = self.resolve_include(inc, path, attr == "include_lib")
            if target is None and attr == "include_lib":
                target = self.resolve_include(inc.split("/", 1)[-1], path, False)
            if target is not None and depth < 10:
                self.load(mod, target, depth + 1)
        elif attr == "record":
            self.record(mod, form)
        elif attr == "reflect_type":
            toks = form[3:-1]
            for j, t in enumerate(toks):
                if t.kind == "atom" and j + 2 < len(toks) and toks[j + 1].value == "/":
                    mod.reflected.add((t.value, toks[j + 2].value))
        elif attr in ("type", "opaque"):
            sep = next((j for j, t in enumerate(form) if t.kind == "punct" and t.value == "::"), None)
            if sep is not None and form[2].kind == "atom":
                mod.types[form[2].value] = form[sep + 1 :]
        elif attr == "typerefl_from_string":
            mod.from_string.add(form[4].value)
        elif attr in ("behaviour", "behavior"):
            mod.behaviours.append(form[3].value)
        elif attr not in STANDARD_ATTRIBUTES and form[2].kind == "punct" and form[2].value == "(":
            # e.g. -gateway(#{...}): returned by Module:module_info(attributes)
            mod.attributes.append((attr, Parser(self.expand(form[3:-1])).expr()))
        elif attr == "export":
            toks = form[3:-1]
            for j, t in enumerate(toks):
                if t.kind == "atom" and j + 2 < len(toks) and toks[j + 1].value == "/":
                    mod.exported.add((t.value, toks[j + 2].value))
        elif attr == "import":
            toks = form[3:-1]
            target = toks[0].value
            for j, t in enumerate(toks):
                if t.kind == "atom" and j > 0 and j + 2 < len(toks) and toks[j + 1].value == "/":
                    mod.imports[(t.value, toks[j + 2].value)] = target

    def record(self, mod: Module, form: list[Tok]) -> None:
        name = form[3].value
        fields_toks: list[list[Tok]] = [[]]
        depth = 0
        for t in form[6:-2]:  # between `{` and `})`; brackets only (types may hold `fun(`)
            if t.kind == "punct" and t.value in ("(", "[", "{", "<<"):
                depth += 1
            elif t.kind == "punct" and t.value in (")", "]", "}", ">>"):
                depth -= 1
            elif t.kind == "punct" and t.value == "," and depth == 0:
                fields_toks.append([])
                continue
            fields_toks[-1].append(t)
        fields = []
        for ft in fields_toks:
            if not ft:
                continue
            ft = self.expand(ft)
            fname = ft[0].value
            default = ("lit", UNDEFINED)
            cut = next((j for j, t in enumerate(ft) if t.kind == "punct" and t.value == "::"), len(ft))
            if len(ft) > 2 and ft[1].kind == "punct" and ft[1].value == "=":
                try:
                    default = Parser(ft[2:cut]).expr()
                except ParseError:
                    default = ("lit", Unknown(f"record {name} default"))
            fields.append((fname, default))
        mod.records[name] = fields

    def function(self, mod: Module, form: list[Tok]) -> None:
        fname = form[0].value
        self.macros[("FUNCTION_NAME", None)] = ([], [_tok("atom", fname)])
        try:
            toks = self.expand(form)
            name, arity, clauses = Parser(toks).function()
            self.macros[("FUNCTION_ARITY", None)] = ([], [_tok("int", arity)])
            if (name, arity) in mod.functions:
                mod.functions[(name, arity)] += clauses
            else:
                mod.functions[(name, arity)] = clauses
        except (ParseError, IndexError, ValueError) as exc:
            mod.broken[str(fname)] = str(exc)


# ----------------------------------------------------------------------------------------------
# Interpreter
# ----------------------------------------------------------------------------------------------

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
            return Closure(e[1], dict(env), mod, e[2])
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


# ----------------------------------------------------------------------------------------------
# Builtins: OTP, hocon and typerefl functions the schema code calls (not in the EMQX repo)
# ----------------------------------------------------------------------------------------------

BUILTINS: dict[tuple[str, str, int], Callable[..., Any]] = {}


def builtin(mod: str, name: str, *arities: int) -> Callable:
    def deco(fn: Callable) -> Callable:
        for a in arities:
            BUILTINS[(mod, name, a)] = fn
        return fn

    return deco


def need(*vals: Any) -> None:
    """Raise Stuck when a builtin needs to look inside an Unknown value."""
    for v in vals:
        if isinstance(v, Unknown):
            raise Stuck(v.why)


def _truthy(ip: Interp, f: Any, *args: Any) -> bool:
    v = ip.apply_fun(f, list(args))
    need(v)
    return v == TRUE


def _text(v: Any) -> str:
    need(v)
    s = to_text(v)
    if s is None:
        if isinstance(v, list):  # iolist
            return "".join(_text(x) if not isinstance(x, int) else chr(x) for x in v)
        if isinstance(v, int | float):
            return str(v)
        raise ErlException("error", Atom("badarg"))
    return s


def _reg_simple() -> None:
    for name, fn in GUARD_BIFS.items():
        BUILTINS[("erlang", name, 1)] = lambda ip, x, fn=fn: (need(x), abool(fn(x)))[1]
    b = BUILTINS
    b[("erlang", "is_function", 1)] = lambda ip, x: (need(x), abool(_is_fun(x)))[1]
    b[("erlang", "is_function", 2)] = lambda ip, x, a: (need(x), abool(_is_fun(x, a)))[1]
    b[("erlang", "atom_to_list", 1)] = lambda ip, a: estr(_text(a))
    b[("erlang", "atom_to_binary", 1)] = lambda ip, a: _text(a).encode()
    b[("erlang", "atom_to_binary", 2)] = lambda ip, a, _e: _text(a).encode()
    for n in ("binary_to_atom", "binary_to_existing_atom", "list_to_atom", "list_to_existing_atom"):
        b[("erlang", n, 1)] = lambda ip, s: Atom(_text(s))
        b[("erlang", n, 2)] = lambda ip, s, _e: Atom(_text(s))
    b[("erlang", "list_to_binary", 1)] = lambda ip, s: _text(s).encode()
    b[("erlang", "iolist_to_binary", 1)] = lambda ip, s: _text(s).encode()
    b[("erlang", "binary_to_list", 1)] = lambda ip, s: estr(_text(s))
    b[("erlang", "integer_to_list", 1)] = lambda ip, i: (need(i), estr(str(i)))[1]
    b[("erlang", "integer_to_binary", 1)] = lambda ip, i: (need(i), str(i).encode())[1]
    b[("erlang", "list_to_integer", 1)] = lambda ip, s: int(_text(s))
    b[("erlang", "binary_to_integer", 1)] = lambda ip, s: int(_text(s))
    b[("erlang", "length", 1)] = lambda ip, x: (need(x), len(x))[1]
    b[("erlang", "hd", 1)] = lambda ip, x: (need(x), x[0])[1]
    b[("erlang", "tl", 1)] = lambda ip, x: (need(x), x[1:])[1]
    b[("erlang", "element", 2)] = lambda ip, n, t: (need(n, t), t[n - 1])[1]
    b[("erlang", "setelement", 3)] = lambda ip, n, t, v: (need(n, t), t[: n - 1] + (v,) + t[n:])[1]
    b[("erlang", "tuple_size", 1)] = lambda ip, t: (need(t), len(t))[1]
    b[("erlang", "size", 1)] = lambda ip, t: (need(t), len(t))[1]
    b[("erlang", "byte_size", 1)] = lambda ip, t: (need(t), len(t))[1]
    b[("erlang", "map_size", 1)] = lambda ip, m: (need(m), len(m.d))[1]
    b[("erlang", "tuple_to_list", 1)] = lambda ip, t: (need(t), list(t))[1]
    b[("erlang", "list_to_tuple", 1)] = lambda ip, t: (need(t), tuple(t))[1]
    b[("erlang", "abs", 1)] = lambda ip, x: (need(x), abs(x))[1]
    b[("erlang", "round", 1)] = lambda ip, x: (need(x), round(x))[1]
    b[("erlang", "trunc", 1)] = lambda ip, x: (need(x), int(x))[1]
    b[("erlang", "float", 1)] = lambda ip, x: (need(x), float(x))[1]
    b[("erlang", "max", 2)] = lambda ip, x, y: (need(x, y), x if sort_key(x) >= sort_key(y) else y)[1]
    b[("erlang", "min", 2)] = lambda ip, x, y: (need(x, y), x if sort_key(x) <= sort_key(y) else y)[1]
    b[("erlang", "map_get", 2)] = lambda ip, k, m: maps_get(ip, k, m)
    b[("erlang", "is_map_key", 2)] = lambda ip, k, m: (need(m), abool(m.has(k)))[1]
    b[("erlang", "node", 0)] = lambda ip: Unknown("erlang:node/0 is run-time data")
    b[("erlang", "system_info", 1)] = lambda ip, _x: Unknown("erlang:system_info/1 is run-time data")
    b[("erlang", "make_ref", 0)] = lambda ip: Unknown("erlang:make_ref/0")
    b[("erlang", "self", 0)] = lambda ip: Unknown("erlang:self/0")
    b[("erlang", "get", 1)] = lambda ip, _k: UNDEFINED
    b[("erlang", "put", 2)] = lambda ip, _k, _v: UNDEFINED
    b[("erlang", "function_exported", 3)] = lambda ip, m, f, a: (
        need(m, f, a),
        abool(ip.exports(str(m), str(f), a)),
    )[1]
    b[("erlang", "apply", 2)] = lambda ip, f, args: (need(args), ip.apply_fun(f, args))[1]
    b[("erlang", "apply", 3)] = lambda ip, m, f, args: (need(m, f, args), ip.call(str(m), str(f), args))[1]
    b[("erlang", "throw", 1)] = _raise("throw")
    b[("erlang", "error", 1)] = _raise("error")
    b[("erlang", "error", 2)] = lambda ip, r, _a: _raise("error")(ip, r)
    b[("erlang", "error", 3)] = lambda ip, r, _a, _o: _raise("error")(ip, r)
    b[("erlang", "exit", 1)] = _raise("exit")
    b[("code", "ensure_loaded", 1)] = lambda ip, m: (Atom("module"), m)
    b[("code", "is_loaded", 1)] = lambda ip, m: (Atom("file"), Atom("loaded"))
    b[("code", "priv_dir", 1)] = lambda ip, _m: Unknown("code:priv_dir/1 is run-time data")
    b[("os", "type", 0)] = lambda ip: (Atom("unix"), Atom("linux"))  # the chart runs EMQX on Linux
    b[("os", "getenv", 1)] = lambda ip, _n: FALSE  # docgen runs with the environment unset
    b[("os", "getenv", 2)] = lambda ip, _n, d: d
    b[("application", "get_env", 2)] = lambda ip, a, k: app_get_env(ip, a, k, None)
    b[("application", "get_env", 3)] = lambda ip, a, k, d: app_get_env(ip, a, k, d)
    b[("application", "loaded_applications", 0)] = lambda ip: [
        (Atom(a), [], []) for a in ip.repo.apps if ip.repo.app_env(a) is not None
    ]
    b[("re", "run", 2)] = lambda ip, subj, rx: re_run(subj, rx, [])
    b[("re", "run", 3)] = lambda ip, subj, rx, opts: re_run(subj, rx, opts)
    b[("logger", "log", 2)] = b[("logger", "log", 3)] = b[("logger", "log", 4)] = lambda ip, *a: OK
    b[("persistent_term", "get", 1)] = lambda ip, k: pterm_get(ip, k, None)
    b[("persistent_term", "get", 2)] = lambda ip, k, d: pterm_get(ip, k, d)
    b[("persistent_term", "put", 2)] = lambda ip, k, v: (ip.pterm.__setitem__(freeze(k), v), OK)[1]
    b[("persistent_term", "erase", 1)] = lambda ip, k: (ip.pterm.pop(freeze(k), None), TRUE)[1]
    b[("unicode", "characters_to_binary", 1)] = lambda ip, s: _text(s).encode()
    b[("unicode", "characters_to_binary", 2)] = lambda ip, s, _e: _text(s).encode()
    b[("unicode", "characters_to_list", 1)] = lambda ip, s: estr(_text(s))
    b[("unicode", "characters_to_list", 2)] = lambda ip, s, _e: estr(_text(s))
    b[("io_lib", "format", 2)] = lambda ip, f, a: estr(io_format(_text(f), a))
    b[("filename", "join", 1)] = lambda ip, parts: estr("/".join(_text(p) for p in parts))
    b[("filename", "join", 2)] = lambda ip, x, y: estr(_text(x) + "/" + _text(y))
    b[("string", "to_lower", 1)] = b[("string", "lowercase", 1)] = lambda ip, s: _same_kind(s, _text(s).lower())
    b[("string", "to_upper", 1)] = b[("string", "uppercase", 1)] = lambda ip, s: _same_kind(s, _text(s).upper())
    b[("string", "join", 2)] = lambda ip, xs, sep: estr(_text(sep).join(_text(x) for x in xs))
    b[("string", "trim", 1)] = lambda ip, s: _same_kind(s, _text(s).strip())
    b[("string", "split", 2)] = lambda ip, s, sep: [_same_kind(s, x) for x in _text(s).split(_text(sep), 1)]
    b[("string", "split", 3)] = lambda ip, s, sep, w: [
        _same_kind(s, x) for x in _text(s).split(_text(sep), -1 if w == Atom("all") else 1)
    ]
    b[("string", "prefix", 2)] = lambda ip, s, p: (
        _same_kind(s, _text(s)[len(_text(p)) :]) if _text(s).startswith(_text(p)) else Atom("nomatch")
    )
    b[("binary", "split", 2)] = lambda ip, s, sep: [x.encode() for x in _text(s).split(_text(sep), 1)]
    b[("binary", "split", 3)] = lambda ip, s, sep, _o: [x.encode() for x in _text(s).split(_text(sep))]


def _same_kind(like: Any, s: str) -> Any:
    return s.encode() if isinstance(like, bytes) else estr(s)


def _raise(cls: str) -> Callable:
    def fn(ip: Interp, reason: Any) -> Any:
        raise ErlException(cls, reason)

    return fn


def app_get_env(ip: Interp, app: Any, key: Any, default: Any) -> Any:
    """application:get_env/2,3 as in a release that loaded the apps' .app files (and no sys.config).

    Keys an application does not set in its .app.src / mix.exs would come from the node's
    configuration at run time, so they stay Unknown unless the caller gave a default.
    """
    need(app, key)
    env = ip.repo.app_env(str(app))
    if env is not None and env.has(key):
        v = env.get(key)
        return v if default is not None else (Atom("ok"), v)
    if default is not None:
        return default
    if env is not None and str(key).startswith("emqx_"):
        return UNDEFINED  # an EMQX registry key (e.g. emqx_action_info_modules) the app does not set
    return Unknown(f"application:get_env({show(app)}, {show(key)}) is run-time configuration")


def re_run(subj: Any, rx: Any, opts: Any) -> Any:
    need(subj, rx, opts)
    text, pattern = _text(subj), _text(rx)
    m = re.search(pattern, text)
    if m is None:
        return Atom("nomatch")
    capture = next((o for o in opts if isinstance(o, tuple) and o and o[0] == Atom("capture")), None)
    if capture is not None and capture[1] == Atom("none"):
        return Atom("match")
    if capture is not None and capture[1] == Atom("all_but_first"):
        groups = list(m.groups())
        as_bin = len(capture) > 2 and capture[2] == Atom("binary")
        return (Atom("match"), [g.encode() if as_bin else estr(g) for g in groups])
    return (
        Atom("match"),
        [(m.start(), m.end() - m.start())] + [(m.start(i), len(g or "")) for i, g in enumerate(m.groups(), 1)],
    )


def pterm_get(ip: Interp, k: Any, default: Any) -> Any:
    key = freeze(k)
    if key in ip.pterm:
        return ip.pterm[key]
    if default is None:
        raise ErlException("error", Atom("badarg"))
    return default


def io_format(fmt: str, args: Any) -> str:
    need(args)
    out, it = [], iter(args)
    i = 0
    while i < len(fmt):
        if fmt[i] == "~" and i + 1 < len(fmt):
            d = fmt[i + 1]
            i += 2
            if d == "n":
                out.append("\n")
            elif d == "~":
                out.append("~")
            elif d in "spwBb":
                v = next(it)
                t = to_text(v)
                out.append(t if d == "s" and t is not None else show(v))
            else:
                raise Stuck(f"io_lib:format directive ~{d}")
        else:
            out.append(fmt[i])
            i += 1
    return "".join(out)


def maps_get(ip: Interp, k: Any, m: Any, *default: Any) -> Any:
    need(m)
    if not isinstance(m, EMap):
        raise ErlException("error", (Atom("badmap"), m))
    if m.has(k):
        return m.get(k)
    if default:
        return default[0]
    raise ErlException("error", (Atom("badkey"), k))


def _keyfind(k: Any, n: int, lst: list) -> Any:
    for t in lst:
        if isinstance(t, tuple) and len(t) >= n and term_eq(t[n - 1], k):
            return t
    return None


def _reg_lists() -> None:
    b = BUILTINS

    def L(name: str, arity: int, fn: Callable) -> None:  # noqa: N802
        b[("lists", name, arity)] = fn

    def lst(*xs: Any) -> None:
        need(*xs)

    L("map", 2, lambda ip, f, xs: (lst(xs), [ip.apply_fun(f, [x]) for x in xs])[1])
    L("foreach", 2, lambda ip, f, xs: (lst(xs), [ip.apply_fun(f, [x]) for x in xs], OK)[2])
    L("flatmap", 2, lambda ip, f, xs: (lst(xs), _flatmap(ip, f, xs))[1])
    L("filter", 2, lambda ip, f, xs: (lst(xs), [x for x in xs if _truthy(ip, f, x)])[1])
    L("filtermap", 2, lambda ip, f, xs: (lst(xs), _filtermap(ip, f, xs))[1])
    L("any", 2, lambda ip, f, xs: (lst(xs), abool(any(_truthy(ip, f, x) for x in xs)))[1])
    L("all", 2, lambda ip, f, xs: (lst(xs), abool(all(_truthy(ip, f, x) for x in xs)))[1])
    L("foldl", 3, lambda ip, f, acc, xs: _fold(ip, f, acc, xs))
    L("foldr", 3, lambda ip, f, acc, xs: (lst(xs), _fold(ip, f, acc, list(reversed(xs))))[1])
    L("member", 2, lambda ip, x, xs: (lst(xs), abool(any(term_eq(x, y) for y in xs)))[1])
    L("reverse", 1, lambda ip, xs: (lst(xs), list(reversed(xs)))[1])
    L("reverse", 2, lambda ip, xs, t: (lst(xs, t), list(reversed(xs)) + t)[1])
    L("append", 2, lambda ip, xs, ys: binop("++", xs, ys) if not isinstance(ys, Unknown) else ys)
    L("append", 1, lambda ip, xss: (lst(xss), [y for xs in xss for y in ([xs] if isinstance(xs, Unknown) else xs)])[1])
    L("concat", 1, lambda ip, xs: (lst(xs), [c for x in xs for c in (x if isinstance(x, list) else estr(_text(x)))])[1])
    L("flatten", 1, lambda ip, xs: (lst(xs), _flatten(xs))[1])
    L("sort", 1, lambda ip, xs: (lst(xs), sorted(xs, key=sort_key))[1])
    L("usort", 1, lambda ip, xs: (lst(xs), _usort(xs))[1])
    L("sort", 2, lambda ip, f, xs: (lst(xs), _sort_by(ip, f, xs))[1])
    L("keysort", 2, lambda ip, n, xs: (lst(xs), sorted(xs, key=lambda t: sort_key(t[n - 1])))[1])
    L("ukeysort", 2, lambda ip, n, xs: (lst(xs), _ukeysort(n, xs))[1])
    L("seq", 2, lambda ip, a, z: list(range(a, z + 1)))
    L("nth", 2, lambda ip, n, xs: (lst(xs), xs[n - 1])[1])
    L("last", 1, lambda ip, xs: (lst(xs), xs[-1])[1])
    L("droplast", 1, lambda ip, xs: (lst(xs), xs[:-1])[1])
    L("sublist", 2, lambda ip, xs, n: (lst(xs), xs[:n])[1])
    L("zip", 2, lambda ip, xs, ys: (lst(xs, ys), list(zip(xs, ys, strict=False)))[1])
    L("duplicate", 2, lambda ip, n, x: [x] * n)
    L("delete", 2, lambda ip, x, xs: (lst(xs), binop("--", xs, [x]))[1])
    L("subtract", 2, lambda ip, xs, ys: (lst(xs, ys), binop("--", xs, ys))[1])
    L("join", 2, lambda ip, sep, xs: (lst(xs), [y for i, x in enumerate(xs) for y in ([sep, x] if i else [x])])[1])
    L("keyfind", 3, lambda ip, k, n, xs: (lst(xs), _keyfind(k, n, xs) or FALSE)[1])
    L("keymember", 3, lambda ip, k, n, xs: (lst(xs), abool(_keyfind(k, n, xs) is not None))[1])
    L("keydelete", 3, lambda ip, k, n, xs: (lst(xs), _keydelete(k, n, xs))[1])
    L("keyreplace", 4, lambda ip, k, n, xs, new: (lst(xs), _keyreplace(k, n, xs, new, False))[1])
    L("keystore", 4, lambda ip, k, n, xs, new: (lst(xs), _keyreplace(k, n, xs, new, True))[1])
    L("keytake", 3, lambda ip, k, n, xs: (lst(xs), _keytake(k, n, xs))[1])
    L("partition", 2, lambda ip, f, xs: (lst(xs), _partition(ip, f, xs))[1])
    L("takewhile", 2, lambda ip, f, xs: (lst(xs), _takewhile(ip, f, xs))[1])
    L("dropwhile", 2, lambda ip, f, xs: (lst(xs), xs[len(_takewhile(ip, f, xs)) :])[1])
    L("search", 2, lambda ip, f, xs: (lst(xs), next(((Atom("value"), x) for x in xs if _truthy(ip, f, x)), FALSE))[1])
    L("max", 1, lambda ip, xs: (lst(xs), max(xs, key=sort_key))[1])
    L("min", 1, lambda ip, xs: (lst(xs), min(xs, key=sort_key))[1])
    L("sum", 1, lambda ip, xs: (lst(xs), sum(xs))[1])
    L("prefix", 2, lambda ip, a, b2: (lst(a, b2), abool(freeze(b2[: len(a)]) == freeze(a)))[1])
    L(
        "suffix",
        2,
        lambda ip, a, b2: (lst(a, b2), abool(len(a) <= len(b2) and freeze(b2[len(b2) - len(a) :]) == freeze(a)))[1],
    )
    L("enumerate", 1, lambda ip, xs: (lst(xs), [(i + 1, x) for i, x in enumerate(xs)])[1])
    L("uniq", 1, lambda ip, xs: (lst(xs), _uniq(xs))[1])
    L("split", 2, lambda ip, n, xs: (lst(xs), (xs[:n], xs[n:]))[1])
    L("mapfoldl", 3, lambda ip, f, acc, xs: _mapfold(ip, f, acc, xs))
    L("nthtail", 2, lambda ip, n, xs: (lst(xs), xs[n:])[1])


def _flatmap(ip: Interp, f: Any, xs: list) -> Any:
    out: list = []
    for x in xs:
        r = ip.apply_fun(f, [x])
        out += [r] if isinstance(r, Unknown) else r
    return out


def _filtermap(ip: Interp, f: Any, xs: list) -> list:
    out = []
    for x in xs:
        r = ip.apply_fun(f, [x])
        need(r)
        if r == TRUE:
            out.append(x)
        elif isinstance(r, tuple) and r[0] == TRUE:
            out.append(r[1])
    return out


def _fold(ip: Interp, f: Any, acc: Any, xs: Any) -> Any:
    need(xs)
    for x in xs:
        acc = ip.apply_fun(f, [x, acc])
    return acc


def _mapfold(ip: Interp, f: Any, acc: Any, xs: Any) -> Any:
    need(xs)
    out = []
    for x in xs:
        r = ip.apply_fun(f, [x, acc])
        need(r)
        out.append(r[0])
        acc = r[1]
    return (out, acc)


def _flatten(xs: list) -> list:
    out: list = []
    for x in xs:
        if isinstance(x, list):
            out += _flatten(x)
        else:
            out.append(x)
    return out


def _usort(xs: list) -> list:
    seen, out = set(), []
    for x in sorted(xs, key=sort_key):
        if freeze(x) not in seen:
            seen.add(freeze(x))
            out.append(x)
    return out


def _uniq(xs: list) -> list:
    seen, out = set(), []
    for x in xs:
        if freeze(x) not in seen:
            seen.add(freeze(x))
            out.append(x)
    return out


def _ukeysort(n: int, xs: list) -> list:
    seen, out = set(), []
    for x in sorted(xs, key=lambda t: sort_key(t[n - 1])):
        if freeze(x[n - 1]) not in seen:
            seen.add(freeze(x[n - 1]))
            out.append(x)
    return out


def _sort_by(ip: Interp, f: Any, xs: list) -> list:
    return sorted(xs, key=functools.cmp_to_key(lambda a, b2: -1 if _truthy(ip, f, a, b2) else 1))


def _keydelete(k: Any, n: int, xs: list) -> list:
    for i, t in enumerate(xs):
        if isinstance(t, tuple) and len(t) >= n and term_eq(t[n - 1], k):
            return xs[:i] + xs[i + 1 :]
    return xs


def _keyreplace(k: Any, n: int, xs: list, new: Any, store: bool) -> list:
    for i, t in enumerate(xs):
        if isinstance(t, tuple) and len(t) >= n and term_eq(t[n - 1], k):
            return xs[:i] + [new] + xs[i + 1 :]
    return xs + [new] if store else xs


def _keytake(k: Any, n: int, xs: list) -> Any:
    for i, t in enumerate(xs):
        if isinstance(t, tuple) and len(t) >= n and term_eq(t[n - 1], k):
            return (Atom("value"), t, xs[:i] + xs[i + 1 :])
    return FALSE


def _partition(ip: Interp, f: Any, xs: list) -> tuple:
    yes, no = [], []
    for x in xs:
        (yes if _truthy(ip, f, x) else no).append(x)
    return (yes, no)


def _takewhile(ip: Interp, f: Any, xs: list) -> list:
    out = []
    for x in xs:
        if not _truthy(ip, f, x):
            break
        out.append(x)
    return out


def _reg_maps() -> None:
    b = BUILTINS

    def M(name: str, arity: int, fn: Callable) -> None:  # noqa: N802
        b[("maps", name, arity)] = fn

    M("get", 2, lambda ip, k, m: maps_get(ip, k, m))
    M("get", 3, lambda ip, k, m, d: maps_get(ip, k, m, d))
    M("find", 2, lambda ip, k, m: (need(m), (Atom("ok"), m.get(k)) if m.has(k) else Atom("error"))[1])
    M("is_key", 2, lambda ip, k, m: (need(m), abool(m.has(k)))[1])
    M("put", 3, lambda ip, k, v, m: (need(m), m.put(k, v))[1])
    M("remove", 2, lambda ip, k, m: (need(m), m.remove(k))[1])
    M("merge", 2, lambda ip, a, c: _merge(a, c))
    M("new", 0, lambda ip: EMap())
    M("from_list", 1, lambda ip, xs: (need(xs), EMap(xs))[1])
    M("to_list", 1, lambda ip, m: (need(m), list(m.items()))[1])
    M("keys", 1, lambda ip, m: (need(m), [k for k, _ in m.items()])[1])
    M("values", 1, lambda ip, m: (need(m), [v for _, v in m.items()])[1])
    M("size", 1, lambda ip, m: (need(m), len(m.d))[1])
    M("without", 2, lambda ip, ks, m: (need(ks, m), _without(m, ks))[1])
    M("with", 2, lambda ip, ks, m: (need(ks, m), EMap((k, m.get(k)) for k in ks if m.has(k)))[1])
    M("map", 2, lambda ip, f, m: (need(m), EMap((k, ip.apply_fun(f, [k, v])) for k, v in m.items()))[1])
    M("filter", 2, lambda ip, f, m: (need(m), EMap((k, v) for k, v in m.items() if _truthy(ip, f, k, v)))[1])
    M("fold", 3, lambda ip, f, acc, m: _mfold(ip, f, acc, m))
    M("foreach", 2, lambda ip, f, m: (need(m), [ip.apply_fun(f, [k, v]) for k, v in m.items()], OK)[2])
    M("update", 3, lambda ip, k, v, m: (need(m), m.put(k, v))[1])
    M("update_with", 3, lambda ip, k, f, m: (need(m), m.put(k, ip.apply_fun(f, [maps_get(ip, k, m)])))[1])
    M("update_with", 4, lambda ip, k, f, init, m: _update_with(ip, k, f, init, m))
    M("merge_with", 3, lambda ip, f, a, c: _merge_with(ip, f, a, c))


def _merge(a: Any, c: Any) -> Any:
    need(a, c)
    out = a
    for k, v in c.items():
        out = out.put(k, v)
    return out


def _merge_with(ip: Interp, f: Any, a: Any, c: Any) -> Any:
    need(a, c)
    out = a
    for k, v in c.items():
        out = out.put(k, ip.apply_fun(f, [k, a.get(k), v]) if a.has(k) else v)
    return out


def _without(m: EMap, ks: list) -> EMap:
    for k in ks:
        m = m.remove(k)
    return m


def _mfold(ip: Interp, f: Any, acc: Any, m: Any) -> Any:
    need(m)
    for k, v in m.items():
        acc = ip.apply_fun(f, [k, v, acc])
    return acc


def _update_with(ip: Interp, k: Any, f: Any, init: Any, m: Any) -> Any:
    need(m)
    return m.put(k, ip.apply_fun(f, [m.get(k)]) if m.has(k) else init)


def _reg_proplists() -> None:
    b = BUILTINS

    def get_value(ip: Interp, k: Any, xs: Any, d: Any = UNDEFINED) -> Any:
        need(xs)
        for x in xs:
            if isinstance(x, tuple) and x and term_eq(x[0], k):
                return x[1] if len(x) == 2 else x
            if isinstance(x, Atom) and x == k:
                return TRUE
        return d

    b[("proplists", "get_value", 2)] = get_value
    b[("proplists", "get_value", 3)] = get_value
    b[("proplists", "get_bool", 2)] = lambda ip, k, xs: abool(get_value(ip, k, xs, FALSE) == TRUE)
    b[("proplists", "delete", 2)] = lambda ip, k, xs: (
        need(xs),
        [x for x in xs if not ((isinstance(x, tuple) and x and term_eq(x[0], k)) or x == k)],
    )[1]
    b[("proplists", "lookup", 2)] = lambda ip, k, xs: (need(xs), _keyfind(k, 1, xs) or Atom("none"))[1]
    b[("proplists", "get_all_values", 2)] = lambda ip, k, xs: (
        need(xs),
        [x[1] for x in xs if isinstance(x, tuple) and len(x) == 2 and term_eq(x[0], k)],
    )[1]
    b[("proplists", "get_keys", 1)] = lambda ip, xs: (
        need(xs),
        _usort([x[0] if isinstance(x, tuple) else x for x in xs]),
    )[1]
    b[("proplists", "is_defined", 2)] = lambda ip, k, xs: abool(get_value(ip, k, xs, None) is not None)


def _reg_hocon() -> None:
    """hoconsc / hocon_schema (library "hocon", not in the EMQX repository)."""
    b = BUILTINS
    b[("hoconsc", "mk", 1)] = lambda ip, t: EMap([(Atom("type"), t)])
    b[("hoconsc", "mk", 2)] = lambda ip, t, m: (need(m), m.put(Atom("type"), t))[1]
    b[("hoconsc", "ref", 1)] = lambda ip, n: (Atom("ref"), n)
    b[("hoconsc", "ref", 2)] = lambda ip, m, n: (Atom("ref"), m, n)
    b[("hoconsc", "array", 1)] = lambda ip, t: (Atom("array"), t)
    b[("hoconsc", "union", 1)] = lambda ip, ts: (Atom("union"), ts, UNDEFINED)
    b[("hoconsc", "union", 2)] = lambda ip, ts, n: (Atom("union"), ts, n)
    b[("hoconsc", "enum", 1)] = lambda ip, s: (Atom("enum"), s)
    b[("hoconsc", "lazy", 1)] = lambda ip, t: (Atom("lazy"), t)
    b[("hoconsc", "map", 2)] = lambda ip, n, t: (Atom("map"), n, t)
    b[("hoconsc", "union_members", 1)] = lambda ip, ms: (
        ms if isinstance(ms, list) else ip.apply_fun(ms, [Atom("all_union_members")])
    )
    b[("hoconsc", "is_schema", 1)] = lambda ip, _t: TRUE
    b[("hocon_schema", "override", 2)] = lambda ip, base, top: _merge(as_field_schema(ip, base), top)
    b[("hocon_schema", "roots", 1)] = hocon_roots
    b[("hocon_schema", "root_names", 1)] = lambda ip, m: (
        lambda rs: rs if isinstance(rs, Unknown) else [n for n, _ in rs]
    )(hocon_roots(ip, m))
    b[("hocon_schema", "fields", 2)] = lambda ip, m, n: ip.call(str(m), "fields", [n])
    b[("hocon_schema", "field_schema", 2)] = lambda ip, s, k: as_field_schema(ip, s).get(k, UNDEFINED)
    b[("hocon_schema", "namespace", 1)] = lambda ip, m: ip.call(str(m), "namespace", [])
    b[("hocon_schema", "validations", 1)] = lambda ip, m: []


def as_field_schema(ip: Interp, s: Any) -> EMap:
    """hocon_schema:field_schema/2 normalisation: a bare type, a map, or a fun(Key)."""
    need(s)
    if isinstance(s, EMap):
        return s
    if _is_fun(s):
        out = EMap()
        for key in ("type", "importance", "deprecated", "aliases", "default"):
            v = ip.apply_fun(s, [Atom(key)])
            if v != UNDEFINED:
                out = out.put(Atom(key), v)
        return out
    return EMap([(Atom("type"), s)])


def hocon_roots(ip: Interp, mod: Any) -> Any:
    """hocon_schema:roots/1: [{BinName, {Name, FieldSchema}}], bare names become refs."""
    need(mod)
    roots = ip.call(str(mod), "roots", [])
    if isinstance(roots, Unknown):
        return roots
    out = []
    for r in roots:
        if isinstance(r, Unknown):
            out.append(r)
        elif isinstance(r, tuple):
            out.append((_text(r[0]).encode(), (r[0], r[1])))
        else:
            out.append((_text(r).encode(), (r, (Atom("ref"), mod, r))))
    return out


def _reg_typerefl() -> None:
    """typerefl's type constructors (imported unqualified by typerefl/include/types.hrl)."""
    b = BUILTINS
    simple = {
        "boolean": TypeRefl("boolean"),
        "integer": TypeRefl("integer"),
        "non_neg_integer": TypeRefl("integer", 0),
        "pos_integer": TypeRefl("integer", 1),
        "float": TypeRefl("float"),
        "number": TypeRefl("number"),
        "string": TypeRefl("string"),
        "nonempty_string": TypeRefl("string"),
        "binary": TypeRefl("string"),
        "iolist": TypeRefl("string"),
        "iodata": TypeRefl("string"),
        "printable_latin1_list": TypeRefl("string"),
        "printable_unicode_list": TypeRefl("string"),
        "unicode_charlist": TypeRefl("string"),
        "unicode_chardata": TypeRefl("string"),
        "atom": TypeRefl("atom"),
        "module": TypeRefl("atom"),
        "map": TypeRefl("map"),
        "any": TypeRefl("term"),
        "term": TypeRefl("term"),
        "tuple": TypeRefl("tuple"),
        "timeout": TypeRefl("timeout"),
        "function": TypeRefl("function"),
        "byte": TypeRefl("integer", 0, 255),
        "char": TypeRefl("integer", 0, 0x10FFFF),
        "arity": TypeRefl("integer", 0, 255),
        "list": TypeRefl("list", args=(TypeRefl("term"),)),
        "ip_address": TypeRefl("ip_address"),
        "ip4_address": TypeRefl("ip4_address"),
        "ip6_address": TypeRefl("ip6_address"),
        "nil": TypeRefl("nil"),
    }
    for name, t in simple.items():
        b[("typerefl", name, 0)] = lambda ip, t=t: t
    b[("typerefl", "range", 2)] = lambda ip, lo, hi: TypeRefl("integer", lo, hi)
    b[("typerefl", "list", 1)] = lambda ip, t: TypeRefl("list", args=(t,))
    b[("typerefl", "nonempty_list", 1)] = lambda ip, t: TypeRefl("list", args=(t,))
    b[("typerefl", "union", 2)] = lambda ip, x, y: TypeRefl("union", args=(x, y))
    b[("typerefl", "union", 1)] = lambda ip, xs: (need(xs), TypeRefl("union", args=tuple(xs)))[1]
    b[("typerefl", "map", 1)] = lambda ip, _spec: TypeRefl("map")
    b[("typerefl", "map", 2)] = lambda ip, _k, _v: TypeRefl("map")
    b[("typerefl", "tuple", 1)] = lambda ip, _xs: TypeRefl("tuple")
    b[("typerefl", "alias", 2)] = lambda ip, name, _t: TypeRefl(_text(name))
    b[("typerefl", "alias", 3)] = lambda ip, name, _t, _a: TypeRefl(_text(name))
    b[("typerefl", "alias", 4)] = lambda ip, name, _t, _a, _b: TypeRefl(_text(name))
    b[("typerefl", "regexp_string", 1)] = lambda ip, _re: TypeRefl("string")
    b[("typerefl", "regexp_binary", 1)] = lambda ip, _re: TypeRefl("string")


_reg_simple()
_reg_lists()
_reg_maps()
_reg_proplists()
_reg_hocon()
_reg_typerefl()


# ----------------------------------------------------------------------------------------------
# From evaluated hocon types to the JSON type tree
# ----------------------------------------------------------------------------------------------

ENTRY_MODULE = "emqx_enterprise_schema"
CHART_ROOTS = (
    "node cluster listeners dashboard license log rpc api_key prometheus plugins mqtt durable_sessions "
    "authorization sysmon force_shutdown force_gc flapping_detect overload_protection"
).split()


# Field name standing for list elements of a fields/roots list that could not be evaluated.
UNKNOWN_FIELDS = "..."


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
        return node

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


# ----------------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------------


def generate(repo_dir: str, commit: str, ref: str, version: str) -> tuple[dict, TreeBuilder]:
    repo = Repo(repo_dir, commit)
    try:
        builder = TreeBuilder(Interp(repo))
        roots, schema = builder.build()
    finally:
        repo.close()
    data = {
        "emqx_version": version,
        "source": {"repository": "emqx/emqx", "ref": ref, "commit": commit},
        "generator": "scripts/emqx_schema.py",
        "roots": roots,
        "schema": schema,
        "structs": {k: v for k, v in builder.structs.items() if v is not None and v["kind"] == "struct"},
    }
    return data, builder


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", required=True, help="EMQX git directory (bare is fine)")
    ap.add_argument("--commit", required=True, help="40-hex commit to read")
    ap.add_argument("--ref", required=True, help="tag or branch name the commit belongs to (recorded only)")
    ap.add_argument("--version", required=True, help="EMQX version, e.g. 6.2.2 (recorded only)")
    ap.add_argument("--out", required=True, help="JSON file to write")
    ap.add_argument("--verbose", action="store_true", help="list every `any` node")
    args = ap.parse_args(argv)
    if not re.fullmatch(r"[0-9a-f]{40}", args.commit):
        ap.error("--commit must be 40 lowercase hex digits")

    result: dict[str, Any] = {}

    def run() -> None:
        result["value"] = generate(args.repo, args.commit, args.ref, args.version)

    sys.setrecursionlimit(200000)
    threading.stack_size(512 * 1024 * 1024)
    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if "value" not in result:
        return 1
    data, builder = result["value"]
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True, ensure_ascii=False)
        fh.write("\n")
    structs, fields = data["structs"], data["schema"]["fields"]
    chart = {r for r in CHART_ROOTS if r in fields}
    chart_structs = reachable(structs, [fields[r] for r in chart])
    chart_anys = [a for a in builder.anys if a[0].split(".")[0] in chart | chart_structs]
    print(f"roots found: {len(data['roots'])}")
    print(f"paths total: {count_paths(structs, data['schema'])} (structs: {len(structs)})")
    print(f"any nodes: {len(builder.anys)} ({len(chart_anys)} in chart-relevant roots)")
    for path, why in builder.anys if args.verbose else chart_anys:
        print(f"  any {path}: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
