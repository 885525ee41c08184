"""Lua 5.1 source text to tokens.

A token is (kind, value, line). `kind` is "name", "number" (value: float), "string"
(value: str, escapes resolved), "eof", or, for keywords and operators, the text
itself ("local", "==", "..."), so the parser can compare kinds directly.

Errors read as Lua's own, with the text the lexer stopped at:
`user_script:1: unfinished string near '"abc'`.
"""

from __future__ import annotations

KEYWORDS = frozenset({
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "if",
    "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
})

# Longest first, so that "..." wins over ".." and ".".
SYMBOLS = ("...", "..", "==", "~=", "<=", ">=", "+", "-", "*", "/", "%", "^", "#", "<",
           ">", "=", "(", ")", "{", "}", "[", "]", ";", ":", ",", ".")

ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
           "\\": "\\", '"': '"', "'": "'", "\n": "\n"}


class LuaSyntaxError(Exception):
    """The script does not compile; the message is Lua's, position included."""


def _is_name_char(char: str) -> bool:
    return char.isalnum() and char.isascii() or char == "_"


class Lexer:
    def __init__(self, source: str, chunk_name: str):
        self.source = source
        self.chunk_name = chunk_name        # how errors name the source: "user_script"
        self.pos = 0
        self.line = 1

    def error(self, message: str, near: str) -> LuaSyntaxError:
        return LuaSyntaxError(f"{self.chunk_name}:{self.line}: {message} near '{near}'")

    def tokens(self) -> list[tuple]:
        result = []
        while True:
            token = self.next_token()
            result.append(token)
            if token[0] == "eof":
                return result

    def next_token(self) -> tuple:
        source = self.source
        self._skip_space_and_comments()
        if self.pos >= len(source):
            return ("eof", None, self.line)
        start, line = self.pos, self.line
        char = source[start]
        if char.isalpha() and char.isascii() or char == "_":
            end = start + 1
            while end < len(source) and _is_name_char(source[end]):
                end += 1
            self.pos = end
            word = source[start:end]
            return (word if word in KEYWORDS else "name", word, line)
        if char.isdigit() or (char == "." and source[start + 1:start + 2].isdigit()):
            return ("number", self._number(), line)
        if char in "\"'":
            return ("string", self._quoted_string(char), line)
        if char == "[" and source[start + 1:start + 2] in ("[", "="):
            level = self._long_bracket_level()
            if level >= 0:
                return ("string", self._long_string(level, "string"), line)
        for symbol in SYMBOLS:
            if source.startswith(symbol, start):
                self.pos += len(symbol)
                return (symbol, symbol, line)
        self.pos += 1
        raise self.error("unexpected symbol", char)

    def _skip_space_and_comments(self) -> None:
        source = self.source
        while self.pos < len(source):
            char = source[self.pos]
            if char == "\n":
                self.line += 1
                self.pos += 1
            elif char in " \t\r\f\v":
                self.pos += 1
            elif source.startswith("--", self.pos):
                self.pos += 2
                if source.startswith("[", self.pos):
                    level = self._long_bracket_level()
                    if level >= 0:
                        self._long_string(level, "comment")
                        continue
                end = source.find("\n", self.pos)
                self.pos = len(source) if end < 0 else end
            elif char == "#" and self.pos == 0:
                # A first line starting with '#' is skipped (Unix "#!" lines).
                end = source.find("\n")
                self.pos = len(source) if end < 0 else end
            else:
                return

    def _number(self) -> float:
        # Lua 5.1 reads digits and dots, an exponent sign, then any letters and digits,
        # and only then decides whether the whole is a number (so "3x" is malformed).
        source, start = self.source, self.pos
        end = start
        while end < len(source) and (source[end].isdigit() or source[end] == "."):
            end += 1
        if end < len(source) and source[end] in "eE":
            end += 1
            if end < len(source) and source[end] in "+-":
                end += 1
        while end < len(source) and _is_name_char(source[end]):
            end += 1
        self.pos = end
        text = source[start:end]
        try:
            if text[:2].lower() == "0x":
                return float(int(text[2:], 16))
            return float(text)
        except ValueError:
            raise self.error("malformed number", text) from None

    def _quoted_string(self, quote: str) -> str:
        source = self.source
        begin = self.pos
        pos = begin + 1
        parts = []
        while True:
            if pos >= len(source):
                self.pos = pos
                raise self.error("unfinished string", "<eof>")
            char = source[pos]
            if char == quote:
                self.pos = pos + 1
                return "".join(parts)
            if char == "\n":
                self.pos = pos
                raise self.error("unfinished string", source[begin:pos])
            if char == "\\":
                pos += 1
                escaped = source[pos:pos + 1]
                if escaped.isdigit():
                    digits = escaped
                    while len(digits) < 3 and source[pos + len(digits):pos + len(digits) + 1].isdigit():
                        digits += source[pos + len(digits)]
                    if int(digits) > 255:
                        raise self.error("escape sequence too large", "\\" + digits)
                    parts.append(chr(int(digits)))
                    pos += len(digits)
                    continue
                if escaped == "\n":
                    self.line += 1
                if escaped == "":
                    continue              # the end of the text: reported above
                parts.append(ESCAPES.get(escaped, escaped))   # "\q" is just "q"
                pos += 1
                continue
            parts.append(char)
            pos += 1

    def _long_bracket_level(self) -> int:
        """At '[': the level of a long bracket ("[[" is 0, "[==[" is 2), or -1."""
        source, pos = self.source, self.pos + 1
        level = 0
        while source.startswith("=", pos):
            level += 1
            pos += 1
        return level if source.startswith("[", pos) else -1

    def _long_string(self, level: int, what: str) -> str:
        source = self.source
        start = self.pos + level + 2
        if source.startswith("\r\n", start) or source.startswith("\n\r", start):
            start += 2
            self.line += 1
        elif source[start:start + 1] in ("\n", "\r") and start < len(source):
            start += 1
            self.line += 1
        closing = "]" + "=" * level + "]"
        end = source.find(closing, start)
        if end < 0:
            self.pos = len(source)
            self.line += source.count("\n", start)
            raise self.error(f"unfinished long {what}", "<eof>")
        self.line += source.count("\n", start, end)
        self.pos = end + len(closing)
        return source[start:end]
