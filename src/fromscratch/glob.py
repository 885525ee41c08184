"""Glob patterns as Redis matches them (KEYS, SCAN MATCH, PSUBSCRIBE, CONFIG GET).

    *        any run of bytes, including none
    ?        any one byte
    [abc]    one of a, b, c;  [^abc] none of them;  [a-z] a range
    \\x       the byte x itself

Unlike fnmatch, negation is `^` and a backslash escapes. Patterns are compiled to
regular expressions once and cached; matching then runs in C.
"""

from __future__ import annotations

import re
from functools import lru_cache


def _translate(pattern: bytes) -> bytes:
    out = bytearray()
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == 0x2A:                                   # *
            while i + 1 < n and pattern[i + 1] == 0x2A:
                i += 1
            out += b".*"
        elif c == 0x3F:                                 # ?
            out += b"."
        elif c == 0x5C and i + 1 < n:                   # \x
            i += 1
            out += re.escape(pattern[i:i + 1])
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
                out += b"." if negate else b"(?!)"
            else:
                out += (b"[^" if negate else b"[") + bytes(members) + b"]"
        else:
            out += re.escape(pattern[i:i + 1])
        i += 1
    return bytes(out)


@lru_cache(maxsize=1024)
def compile_pattern(pattern: bytes, nocase: bool = False):
    flags = re.DOTALL | (re.IGNORECASE if nocase else 0)
    return re.compile(_translate(pattern), flags).fullmatch


def glob_match(pattern: bytes, subject: bytes, nocase: bool = False) -> bool:
    if pattern == b"*":
        return True
    return compile_pattern(pattern, nocase)(subject) is not None
