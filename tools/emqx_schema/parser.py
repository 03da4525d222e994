"""The Erlang parser: the tokens of one form to AST tuples."""

from __future__ import annotations

from .terms import Atom, ParseError, Unknown, estr
from .tokenizer import Tok

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
