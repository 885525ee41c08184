"""Glob patterns as Redis matches them (glob.py), including patterns that would make a
backtracking matcher take exponential time."""

import random
import re
import time

import pytest

from fromscratch.glob import compile_pattern, glob_match


@pytest.mark.parametrize("pattern, subject, expected", [
    (b"*", b"", True),
    (b"h?llo", b"hello", True),
    (b"h*llo", b"heeeello", True),
    (b"h[ae]llo", b"hallo", True),
    (b"h[^e]llo", b"hello", False),
    (b"h[a-b]llo", b"hbllo", True),
    (b"h[b-a]llo", b"hallo", True),          # a reversed range, as Redis takes it
    (b"h\\*llo", b"h*llo", True),
    (b"h\\*llo", b"hello", False),
    (b"[]", b"a", False),
    (b"[^]", b"a", True),
    (b"a*b*c", b"axxbyyc", True),
    (b"a*b*c", b"axxcyyb", False),
    (b"*a*", b"bab", True),
    (b"*a*b*", b"bbbba", False),
    (b"a*?b", b"ab", False),
    (b"a*?b", b"axb", True),
    (b"*x*y", b"xy", True),
    (b"*x*y", b"yx", False),
])
def test_matches_as_redis(pattern, subject, expected):
    assert glob_match(pattern, subject) is expected


def test_nocase():
    assert glob_match(b"H*L*O", b"hello", nocase=True)
    assert not glob_match(b"H*L*O", b"hello")


def _backtracking(pattern: bytes):
    """The plain regular expression for a pattern: correct, but it backtracks."""
    out = bytearray()
    for token in re.findall(rb"\*+|\?|\\.|\[\^?\]?[^]]*\]|.", pattern, re.DOTALL):
        out += b".*" if token.startswith(b"*") else b"." if token == b"?" else (
            re.escape(token[1:]) if token.startswith(b"\\") else re.escape(token))
    return re.compile(bytes(out), re.DOTALL).fullmatch


def test_many_stars_agree_with_a_plain_regular_expression():
    rng = random.Random(7)
    for _ in range(20000):
        pattern = bytes(rng.choice(b"ab*?") for _ in range(rng.randint(0, 9)))
        subject = bytes(rng.choice(b"abc") for _ in range(rng.randint(0, 9)))
        assert bool(compile_pattern(pattern)(subject)) == (
            _backtracking(pattern)(subject) is not None), (pattern, subject)


def test_nested_stars_do_not_take_exponential_time():
    # Redis's regression test: a backtracking matcher takes hours on this.
    started = time.process_time()
    assert not glob_match(b"a*" * 20 + b"b", b"a" * 40)
    assert not glob_match(b"*a*a*a*a*c", b"a" * 100_000)
    # Milliseconds here, hours for a backtracking matcher: the bound only catches that.
    assert time.process_time() - started < 5
