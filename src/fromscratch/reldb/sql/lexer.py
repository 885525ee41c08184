"""The SQL tokenizer: query text in, a list of tokens out.

Follows PostgreSQL's lexical rules (scan.l): identifiers fold to lower case unless
double-quoted; strings are '...' ('' for a quote), E'...' with backslash escapes, or
dollar-quoted ($tag$...$tag$); adjacent string literals separated by a newline join;
comments are -- to end of line and nested /* */; operators are runs of + - * / < > = ~
! @ # % ^ & | ` ? where a run may not end in + or - unless it holds one of ~ ! @ # % ^
& | ` ?, so that `a=-1` is `a = -1`.

Each token keeps its character offset so errors can point at it (position is 1-based
in ErrorResponse).
"""

from __future__ import annotations

import re

from ..errors import INVALID_TEXT_REPRESENTATION, SYNTAX_ERROR, SqlError

IDENT = "ident"          # a name or keyword, lower-cased
QIDENT = "qident"        # a "quoted" name, kept as written
NUMBER = "number"        # numeric literal text
STRING = "string"        # string literal, unescaped
PARAM = "param"          # $n, value is n
OP = "op"                # operator text
PUNCT = "punct"          # ( ) [ ] , ; : :: .
EOF = "eof"

_OP_CHARS = set("+-*/<>=~!@#%^&|`?")
_OP_SPECIAL = set("~!@#%^&|`?")
_PUNCT_CHARS = set("()[],;:.")


class Token:
    __slots__ = ("kind", "value", "pos")

    def __init__(self, kind: str, value, pos: int):
        self.kind = kind
        self.value = value
        self.pos = pos

    def __repr__(self):
        return f"Token({self.kind}, {self.value!r}, {self.pos})"


def _error(message: str, pos: int) -> SqlError:
    return SqlError(SYNTAX_ERROR, message, position=pos + 1)


def _is_ident_start(c: str) -> bool:
    return c.isalpha() or c == "_" or ord(c) >= 0x80


def _is_ident_char(c: str) -> bool:
    return c.isalnum() or c in "_$" or ord(c) >= 0x80


# The commonest tokens in their plainest forms, matched by one regular expression
# (most statements are nothing else). Anything this does not match, or matches only in
# part, goes to _scan_token, which knows every rule: an identifier followed by ' or &
# (E'...', U&'...'), numbers with exponents or underscores, strings with quotes or
# continuations inside, comments, longer operators.
_OP_CLASS = r"[+\-*/<>=~!@#%^&|`?]"
_FAST = re.compile(r"""
    (?P<space> \s+ )
  | (?P<ident> [A-Za-z_\x80-\U0010FFFF] [\w$\x80-\U0010FFFF]*+ ) (?! ['&] )
  | (?P<number> \d++ (?: \.\d++ )? ) (?! [\w.$] )
  | (?P<string> ' [^']*+ ' ) (?! \s*+ ' )
  | (?P<punct> :: | [(),;\[\]:] | \.(?!\d) )
  | (?P<op> (?: <= | >= | <> | != | [=<>*+\-/%] ) ) (?! OPCHAR )
""".replace("OPCHAR", _OP_CLASS), re.VERBOSE)
_KINDS = {"number": NUMBER, "punct": PUNCT, "op": OP}


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    append = tokens.append
    fast = _FAST.match
    i, n = 0, len(text)
    while i < n:
        m = fast(text, i)
        if m is None:
            i = _scan_token(text, i, tokens)
            continue
        kind, end = m.lastgroup, m.end()
        if kind == "ident":
            append(Token(IDENT, text[i:end].lower(), i))
        elif kind == "string":
            append(Token(STRING, text[i + 1:end - 1], i))
        elif kind != "space":
            append(Token(_KINDS[kind], text[i:end], i))
        i = end
    append(Token(EOF, None, n))
    return tokens


def _scan_token(text: str, i: int, tokens: list) -> int:
    """Scan what is at `i` (a token, whitespace or a comment) by the full rules; append
    the token, if any, and return where the next begins."""
    n = len(text)
    c = text[i]
    if c.isspace():
        return i + 1
    if c == "-" and text.startswith("--", i):
        end = text.find("\n", i)
        return n if end < 0 else end + 1
    if c == "/" and text.startswith("/*", i):
        return _skip_block_comment(text, i)
    start = i
    if c in "eE" and text.startswith("'", i + 1):
        value, i = _read_string(text, i + 1, escapes=True)
        tokens.append(Token(STRING, value, start))
        return i
    if c in "bBxX" and text.startswith("'", i + 1):
        value, i = _read_string(text, i + 1, escapes=False)
        digits, name = ("0123456789abcdefABCDEF", "hexadecimal") if c in "xX" else ("01", "binary")
        bad = next((ch for ch in value if ch not in digits), None)
        if bad is not None:
            raise SqlError(INVALID_TEXT_REPRESENTATION, f'"{bad}" is not a valid {name} digit',
                           position=start + 1)
        if c in "xX":
            value = bin(int(value, 16))[2:].zfill(len(value) * 4) if value else ""
        tokens.append(Token(STRING, value, start))
        return i
    if c in "nN" and text.startswith("'", i + 1):      # N'...' national character
        value, i = _read_string(text, i + 1, escapes=False)
        tokens.append(Token(STRING, value, start))
        return i
    if c in "uU" and text.startswith("&'", i + 1):
        value, i = _read_string(text, i + 2, escapes=False)
        tokens.append(Token(STRING, _unicode_escapes(value, start), start))
        return i
    if _is_ident_start(c):
        i += 1
        while i < n and _is_ident_char(text[i]):
            i += 1
        tokens.append(Token(IDENT, text[start:i].lower(), start))
        return i
    if c == '"':
        value, i = _read_quoted_ident(text, i)
        tokens.append(Token(QIDENT, value, start))
        return i
    if c == "'":
        value, i = _read_string(text, i, escapes=False)
        tokens.append(Token(STRING, value, start))
        return i
    if c.isdigit() or (c == "." and i + 1 < n and text[i + 1].isdigit()):
        i = _scan_number(text, i)
        if i < n and _is_ident_start(text[i]):
            raise _error(f'trailing junk after numeric literal at or near "{text[start:i + 1]}"',
                         start)
        tokens.append(Token(NUMBER, text[start:i].replace("_", ""), start))
        return i
    if c == "$":
        if i + 1 < n and text[i + 1].isdigit():
            i += 1
            while i < n and text[i].isdigit():
                i += 1
            tokens.append(Token(PARAM, int(text[start + 1:i]), start))
            return i
        tag_end = i + 1
        while tag_end < n and _is_ident_char(text[tag_end]) and text[tag_end] != "$":
            tag_end += 1
        if tag_end < n and text[tag_end] == "$":
            tag = text[i:tag_end + 1]
            close = text.find(tag, tag_end + 1)
            if close < 0:
                raise _error("unterminated dollar-quoted string at or near "
                             f'"{text[i:i + 20]}"', start)
            tokens.append(Token(STRING, text[tag_end + 1:close], start))
            return close + len(tag)
        raise _error('syntax error at or near "$"', start)
    if c == ":" and text.startswith("::", i):
        tokens.append(Token(PUNCT, "::", start))
        return i + 2
    if c in _PUNCT_CHARS:
        tokens.append(Token(PUNCT, c, start))
        return i + 1
    if c in _OP_CHARS:
        i = _scan_operator(text, i)
        tokens.append(Token(OP, text[start:i], start))
        return i
    raise _error(f'syntax error at or near "{c}"', start)


def _skip_block_comment(text: str, i: int) -> int:
    depth, start = 0, i
    while i < len(text):
        if text.startswith("/*", i):
            depth += 1
            i += 2
        elif text.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    raise _error("unterminated /* comment at or near \"" + text[start:start + 20] + '"', start)


def _scan_number(text: str, i: int) -> int:
    n = len(text)
    while i < n and (text[i].isdigit() or text[i] == "_"):
        i += 1
    if i < n and text[i] == "." and not text.startswith("..", i):
        i += 1
        while i < n and text[i].isdigit():
            i += 1
    if i < n and text[i] in "eE":
        j = i + 1
        if j < n and text[j] in "+-":
            j += 1
        if j < n and text[j].isdigit():
            i = j
            while i < n and text[i].isdigit():
                i += 1
    return i


def _scan_operator(text: str, i: int) -> int:
    start, n = i, len(text)
    while i < n and text[i] in _OP_CHARS:
        if i > start and (text.startswith("--", i) or text.startswith("/*", i)):
            break
        i += 1
    # A multi-character operator may not end in + or - unless it has a special char.
    while i - start > 1 and text[i - 1] in "+-" and not any(
            ch in _OP_SPECIAL for ch in text[start:i - 1]):
        i -= 1
    return i


def _read_quoted_ident(text: str, i: int) -> tuple[str, int]:
    out, i, start = [], i + 1, i
    while True:
        end = text.find('"', i)
        if end < 0:
            raise _error("unterminated quoted identifier at or near \"" + text[start:start + 20]
                         + '"', start)
        out.append(text[i:end])
        if text.startswith('""', end):
            out.append('"')
            i = end + 2
            continue
        value = "".join(out)
        if not value:
            raise _error("zero-length delimited identifier at or near \"\"\"\"", start)
        return value, end + 1


_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _read_string(text: str, i: int, escapes: bool) -> tuple[str, int]:
    """Read a quoted literal starting at the quote at `i`, joining continuations."""
    out: list[str] = []
    start = i
    while True:
        i += 1
        while True:
            if i >= len(text):
                raise _error("unterminated quoted string at or near \"" + text[start:start + 20]
                             + '"', start)
            c = text[i]
            if c == "'":
                if text.startswith("''", i):
                    out.append("'")
                    i += 2
                    continue
                i += 1
                break
            if c == "\\" and escapes:
                i = _read_escape(text, i, out)
                continue
            out.append(c)
            i += 1
        # 'a'\n'b' is one literal: whitespace holding a newline, then another quote.
        j = i
        while j < len(text) and text[j] in " \t\r\f\n":
            j += 1
        if j < len(text) and text[j] == "'" and "\n" in text[i:j]:
            i = j
            continue
        return "".join(out), i


def _read_escape(text: str, i: int, out: list[str]) -> int:
    nxt = text[i + 1:i + 2]
    if nxt in _ESCAPES:
        out.append(_ESCAPES[nxt])
        return i + 2
    if nxt in ("x", "X"):
        j = i + 2
        while j < len(text) and j < i + 4 and text[j] in "0123456789abcdefABCDEF":
            j += 1
        out.append(chr(int(text[i + 2:j], 16)) if j > i + 2 else nxt)
        return j
    if nxt in ("u", "U"):
        width = 4 if nxt == "u" else 8
        digits = text[i + 2:i + 2 + width]
        try:
            out.append(chr(int(digits, 16)))
        except ValueError:
            raise _error("invalid Unicode escape", i) from None
        return i + 2 + width
    if nxt.isdigit() and nxt in "01234567":
        j = i + 1
        while j < len(text) and j < i + 4 and text[j] in "01234567":
            j += 1
        out.append(chr(int(text[i + 1:j], 8)))
        return j
    if not nxt:
        raise _error("unterminated quoted string", i)
    out.append(nxt)
    return i + 2


def _unicode_escapes(value: str, pos: int) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\" and value[i + 1:i + 2] == "\\":
            out.append("\\")
            i += 2
        elif value[i] == "\\" and value[i + 1:i + 2] == "+":
            out.append(chr(int(value[i + 2:i + 8], 16)))
            i += 8
        elif value[i] == "\\":
            try:
                out.append(chr(int(value[i + 1:i + 5], 16)))
            except ValueError:
                raise _error("invalid Unicode escape value", pos) from None
            i += 5
        else:
            out.append(value[i])
            i += 1
    return "".join(out)
