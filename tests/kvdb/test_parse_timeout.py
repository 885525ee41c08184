"""Blocking timeouts read as Redis 7.2 reads them (some of this differs from the 7.0
reference server, so it is checked here rather than in the compat tests)."""

import pytest

from fromscratch.kvdb.blocking import parse_timeout
from fromscratch.resp import ErrorReply


@pytest.mark.parametrize("text, seconds", [
    (b"0", 0), (b"1", 1), (b"0.5", 0.5), (b"1e1", 10), (b"0x10", 16), (b".25", 0.25),
    (b"0.0001", 0.001),            # rounded up to a whole millisecond
    (b"0.0015", 0.002),
    (b"-0.0001", 0),               # rounds to 0: forever, not negative
])
def test_accepted(text, seconds):
    assert parse_timeout(text) == seconds


@pytest.mark.parametrize("text, message", [
    (b"abc", "ERR timeout is not a float or out of range"),
    (b"", "ERR timeout is not a float or out of range"),
    (b" 1", "ERR timeout is not a float or out of range"),
    (b"1 ", "ERR timeout is not a float or out of range"),
    (b"nan", "ERR timeout is not a float or out of range"),
    (b"1/2", "ERR timeout is not a float or out of range"),
    (b"1_0", "ERR timeout is not a float or out of range"),
    (b"1e5000", "ERR timeout is not a float or out of range"),
    (b"-1", "ERR timeout is negative"),
    (b"-inf", "ERR timeout is negative"),
    (b"inf", "ERR timeout is out of range"),
    (b"1e20", "ERR timeout is out of range"),
])
def test_refused(text, message):
    with pytest.raises(ErrorReply) as error:
        parse_timeout(text)
    assert error.value.message == message
