"""Source access (modules read straight out of a git directory) and the Erlang preprocessor
(-define, -include, -ifdef/-ifndef/-if)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .parser import Parser
from .tables import EXTERNAL_MACROS, PREDEFINED_FLAGS
from .terms import TRUE, UNDEFINED, Atom, EMap, ErlException, ParseError, Stuck, Unknown
from .tokenizer import Tok, split_forms, tokenize

if TYPE_CHECKING:
    from .interpreter import Interp


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
