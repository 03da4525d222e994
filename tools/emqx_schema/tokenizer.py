"""The Erlang tokenizer: source text to tokens, split into forms."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .terms import ParseError


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
