"""The functions of OTP, hocon and typerefl that the schema code calls (not in the EMQX repository),
modelled in Python and registered in interpreter.BUILTINS."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from .interpreter import BUILTINS, GUARD_BIFS, Interp, _is_fun, abool, binop
from .terms import (
    FALSE,
    OK,
    TRUE,
    UNDEFINED,
    Atom,
    EMap,
    ErlException,
    Stuck,
    TypeRefl,
    Unknown,
    estr,
    freeze,
    show,
    sort_key,
    term_eq,
    to_text,
)


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
        for key in ("type", "importance", "deprecated", "aliases", "default", "required", "validator", "converter"):
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
