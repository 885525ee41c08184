"""Lua 5.1 patterns (reference manual, section 5.4.1), matched by backtracking.

Lua patterns are not regular expressions: there is no alternation, quantifiers apply
to one character class only, and there are Lua-only items (%b() for balanced pairs,
%f[set] for frontiers, () for position captures). So rather than translating them to
Python's `re`, this module matches them directly, the way Lua's own lstrlib.c does:

    .         any character          %a %c %d %l %p %s %u %w %x %z   classes
    %A ...    the complement         %x (x not alphanumeric)          x itself
    [set]     a set ([^set] negated; ranges a-z; classes inside)
    * + - ?   0+ (longest), 1+ (longest), 0+ (shortest), optional
    ^ $       anchors at the pattern's start and end
    (...)     a capture; () captures the position; %1-%9 match a capture again

`Matcher(subject, pattern).match(start, 0)` returns where a match starting at `start`
ends (or -1), leaving the captures in `captures`. Character classes are those of C's
"C" locale: bytes above 127 are in none of them.
"""

from __future__ import annotations

import string

from .values import LuaError

SPECIALS = frozenset("^$*+?.([%-")
MAX_CAPTURES = 32
UNFINISHED, POSITION = -1, -2            # capture lengths with a special meaning

_PUNCTUATION = frozenset(string.punctuation)
CLASSES = {
    "a": frozenset(string.ascii_letters),
    "c": frozenset(chr(i) for i in (*range(32), 127)),
    "d": frozenset(string.digits),
    "l": frozenset(string.ascii_lowercase),
    "p": _PUNCTUATION,
    "s": frozenset(" \t\n\r\f\v"),
    "u": frozenset(string.ascii_uppercase),
    "w": frozenset(string.ascii_letters + string.digits),
    "x": frozenset(string.hexdigits),
    "z": frozenset("\0"),
}


def match_class(char: str, cls: str) -> bool:
    """Does `char` belong to the class `%cls`?"""
    members = CLASSES.get(cls.lower())
    if members is None:
        return cls == char                 # %. %% %( ...: the character itself
    return (char in members) == cls.islower()


class Matcher:
    def __init__(self, subject: str, pattern: str):
        self.subject = subject
        self.pattern = pattern
        self.captures: list[list[int]] = []     # [start, length] per capture

    # -- single character classes ---------------------------------------------------

    def class_end(self, p: int) -> int:
        """The index just past the single-character class starting at p."""
        pattern = self.pattern
        char = pattern[p]
        p += 1
        if char == "%":
            if p >= len(pattern):
                raise LuaError("malformed pattern (ends with '%')")
            return p + 1
        if char == "[":
            if p < len(pattern) and pattern[p] == "^":
                p += 1
            while True:                    # the set's first character may be ']'
                if p >= len(pattern):
                    raise LuaError("malformed pattern (missing ']')")
                char = pattern[p]
                p += 1
                if char == "%":
                    p += 1                 # an escaped character, such as %]
                if p >= len(pattern):
                    raise LuaError("malformed pattern (missing ']')")
                if pattern[p] == "]":
                    return p + 1
        return p

    def single_match(self, char: str, p: int, end: int) -> bool:
        pattern = self.pattern
        kind = pattern[p]
        if kind == ".":
            return True
        if kind == "%":
            return match_class(char, pattern[p + 1])
        if kind == "[":
            return self.match_set(char, p, end - 1)
        return kind == char

    def match_set(self, char: str, p: int, end: int) -> bool:
        """`char` against the set pattern[p:end+1] ('[' at p, ']' at end)."""
        pattern = self.pattern
        negated = pattern[p + 1] == "^"
        p += 2 if negated else 1
        while p < end:
            if pattern[p] == "%":
                p += 1
                if match_class(char, pattern[p]):
                    return not negated
            elif pattern[p + 1] == "-" and p + 2 < end:
                if pattern[p] <= char <= pattern[p + 2]:
                    return not negated
                p += 2
            elif pattern[p] == char:
                return not negated
            p += 1
        return negated

    # -- the matcher --------------------------------------------------------------------

    def match(self, s: int, p: int) -> int:
        """Match pattern[p:] at subject[s:]; returns the end of the match, or -1."""
        subject, pattern = self.subject, self.pattern
        while True:
            if p == len(pattern):
                return s
            char = pattern[p]
            if char == "(":
                if pattern[p + 1:p + 2] == ")":
                    return self.start_capture(s, p + 2, POSITION)
                return self.start_capture(s, p + 1, UNFINISHED)
            if char == ")":
                return self.end_capture(s, p + 1)
            if char == "$" and p + 1 == len(pattern):
                return s if s == len(subject) else -1
            if char == "%" and p + 1 < len(pattern):
                following = pattern[p + 1]
                if following == "b":
                    s = self.match_balance(s, p + 2)
                    if s == -1:
                        return -1
                    p += 4
                    continue
                if following == "f":
                    p += 2
                    if pattern[p:p + 1] != "[":
                        raise LuaError("missing '[' after '%f' in pattern")
                    end = self.class_end(p)
                    before = subject[s - 1] if s > 0 else "\0"
                    here = subject[s] if s < len(subject) else "\0"
                    if self.match_set(before, p, end - 1) or not self.match_set(here, p, end - 1):
                        return -1
                    p = end
                    continue
                if following.isdigit():
                    s = self.match_capture(s, following)
                    if s == -1:
                        return -1
                    p += 2
                    continue
            end = self.class_end(p)
            matched = s < len(subject) and self.single_match(subject[s], p, end)
            quantifier = pattern[end:end + 1]
            if quantifier == "?":
                if matched:
                    result = self.match(s + 1, end + 1)
                    if result != -1:
                        return result
                p = end + 1
                continue
            if quantifier == "*":
                return self.max_expand(s, p, end)
            if quantifier == "+":
                return self.max_expand(s + 1, p, end) if matched else -1
            if quantifier == "-":
                return self.min_expand(s, p, end)
            if not matched:
                return -1
            s += 1
            p = end

    def max_expand(self, s: int, p: int, end: int) -> int:
        """Greedy repetition: take as many as match, then back off one at a time."""
        count = 0
        subject = self.subject
        while s + count < len(subject) and self.single_match(subject[s + count], p, end):
            count += 1
        while count >= 0:
            result = self.match(s + count, end + 1)
            if result != -1:
                return result
            count -= 1
        return -1

    def min_expand(self, s: int, p: int, end: int) -> int:
        """Lazy repetition: try the rest of the pattern first, then one more."""
        subject = self.subject
        while True:
            result = self.match(s, end + 1)
            if result != -1:
                return result
            if s < len(subject) and self.single_match(subject[s], p, end):
                s += 1
            else:
                return -1

    def match_balance(self, s: int, p: int) -> int:
        """%bxy: an x, then text with balanced x/y, then the matching y."""
        if p + 1 >= len(self.pattern):
            raise LuaError("unbalanced pattern")
        subject = self.subject
        opening, closing = self.pattern[p], self.pattern[p + 1]
        if s >= len(subject) or subject[s] != opening:
            return -1
        depth = 1
        for i in range(s + 1, len(subject)):
            if subject[i] == closing:
                depth -= 1
                if depth == 0:
                    return i + 1
            elif subject[i] == opening:
                depth += 1
        return -1

    def start_capture(self, s: int, p: int, kind: int) -> int:
        if len(self.captures) >= MAX_CAPTURES:
            raise LuaError("too many captures")
        self.captures.append([s, kind])
        result = self.match(s, p)
        if result == -1:
            self.captures.pop()
        return result

    def end_capture(self, s: int, p: int) -> int:
        index = self._open_capture()
        capture = self.captures[index]
        capture[1] = s - capture[0]
        result = self.match(s, p)
        if result == -1:
            capture[1] = UNFINISHED
        return result

    def _open_capture(self) -> int:
        for index in range(len(self.captures) - 1, -1, -1):
            if self.captures[index][1] == UNFINISHED:
                return index
        raise LuaError("invalid pattern capture")

    def match_capture(self, s: int, digit: str) -> int:
        index = int(digit) - 1
        if index < 0 or index >= len(self.captures) or self.captures[index][1] == UNFINISHED:
            raise LuaError("invalid capture index")
        start, length = self.captures[index]
        text = self.subject[start:start + length]
        return s + length if self.subject.startswith(text, s) else -1

    # -- results ------------------------------------------------------------------------

    def capture(self, index: int, start: int, end: int):
        """Capture `index` (a string, or a position as a number); capture 0 of a
        pattern without captures is the whole match."""
        if index >= len(self.captures):
            if index == 0:
                return self.subject[start:end]
            raise LuaError("invalid capture index")
        begin, length = self.captures[index]
        if length == UNFINISHED:
            raise LuaError("unfinished capture")
        if length == POSITION:
            return float(begin + 1)
        return self.subject[begin:begin + length]

    def all_captures(self, start: int, end: int, whole_if_none: bool = True) -> list:
        count = len(self.captures)
        if count == 0 and whole_if_none:
            return [self.subject[start:end]]
        return [self.capture(i, start, end) for i in range(count)]


def search(subject: str, pattern: str, init: int):
    """The first match at or after index `init`: (matcher, start, end) or None."""
    anchored = pattern.startswith("^")
    p = 1 if anchored else 0
    s = init
    while True:
        matcher = Matcher(subject, pattern)
        end = matcher.match(s, p)
        if end != -1:
            return matcher, s, end
        s += 1
        if anchored or s > len(subject):
            return None


def has_specials(pattern: str) -> bool:
    return any(char in SPECIALS for char in pattern)
