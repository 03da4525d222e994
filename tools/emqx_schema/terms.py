"""Erlang terms as Python values (atoms, maps, closures, type reflections), their ordering and printing,
and the errors of evaluation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


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
    origin: str = ""  # module:function/arity whose body made the fun (names validators in the data)


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


# Errors


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
