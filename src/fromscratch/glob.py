"""Glob patterns as Redis matches them (KEYS, SCAN MATCH, PSUBSCRIBE, CONFIG GET).

    *        any run of bytes, including none
    ?        any one byte
    [abc]    one of a, b, c;  [^abc] none of them;  [a-z] a range
    \\x       the byte x itself

Unlike fnmatch, negation is `^` and a backslash escapes. Patterns are compiled to
regular expressions once and cached; matching then runs in C.

A regular expression with several `.*` backtracks: `a*a*a*...b` against a long run of
`a`s takes exponential time, and a client could stall the server with one KEYS. So a
pattern with two or more stars is matched piece by piece instead: the stars cut it into
pieces of fixed length (every other token matches exactly one byte), the first piece
must match at the start, the last at the end, and each one between is taken at its
leftmost place after the one before. Leftmost is always right: a piece of fixed length
that ends earliest leaves the most room for the rest. That is linear in the subject
for each piece, whatever the pattern.
"""

from __future__ import annotations

import re
from functools import lru_cache


def _tokens(pattern: bytes) -> list[bytes | None]:
    """The pattern as regular expressions of one byte each, and None for each run of
    stars."""
    tokens: list[bytes | None] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == 0x2A:                                   # *
            while i + 1 < n and pattern[i + 1] == 0x2A:
                i += 1
            tokens.append(None)
        elif c == 0x3F:                                 # ?
            tokens.append(b".")
        elif c == 0x5C and i + 1 < n:                   # \x
            i += 1
            tokens.append(re.escape(pattern[i:i + 1]))
        elif c == 0x5B:                                 # [...]
            i += 1
            negate = i < n and pattern[i] == 0x5E
            if negate:
                i += 1
            members = bytearray()
            while i < n and pattern[i] != 0x5D:
                if pattern[i] == 0x5C and i + 1 < n:
                    i += 1
                    members += re.escape(pattern[i:i + 1])
                elif i + 2 < n and pattern[i + 1] == 0x2D and pattern[i + 2] != 0x5D:
                    low, high = sorted((pattern[i], pattern[i + 2]))
                    members += b"\\x%02x-\\x%02x" % (low, high)
                    i += 2
                else:
                    members += re.escape(pattern[i:i + 1])
                i += 1
            if not members:
                # `[]` matches nothing, `[^]` anything, as in Redis's stringmatchlen.
                tokens.append(b"." if negate else b"(?!)")
            else:
                tokens.append((b"[^" if negate else b"[") + bytes(members) + b"]")
        else:
            tokens.append(re.escape(pattern[i:i + 1]))
        i += 1
    return tokens


@lru_cache(maxsize=1024)
def compile_pattern(pattern: bytes, nocase: bool = False):
    """A function of a subject: a match object if the pattern matches it, else None
    (as a compiled regular expression's fullmatch)."""
    flags = re.DOTALL | (re.IGNORECASE if nocase else 0)
    tokens = _tokens(pattern)
    if tokens.count(None) < 2:           # one star can't backtrack far: all in C
        return re.compile(b"".join(b".*" if t is None else t for t in tokens), flags).fullmatch
    pieces: list[list[bytes]] = [[]]
    for token in tokens:
        if token is None:
            pieces.append([])
        else:
            pieces[-1].append(token)
    first, *middle, last = [(re.compile(b"".join(piece), flags), len(piece))
                            for piece in pieces]

    def match(subject: bytes):
        head, head_length = first
        tail, tail_length = last
        end = len(subject) - tail_length
        if end < head_length or not head.match(subject, 0, head_length):
            return None
        position = head_length
        for piece, length in middle:
            found = piece.search(subject, position, end)
            if found is None:
                return None
            position = found.end()
        return tail.match(subject, end)
    return match


def glob_match(pattern: bytes, subject: bytes, nocase: bool = False) -> bool:
    if pattern == b"*":
        return True
    return compile_pattern(pattern, nocase)(subject) is not None
