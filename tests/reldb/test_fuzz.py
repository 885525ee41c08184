"""Bad input never crashes the protocol: random bytes, truncated and oversized messages,
unknown message types, invalid UTF-8, absurd nesting. Each case ends with an error to
the client (or waiting for more bytes), and the state machine stays usable or closes."""

import random
import struct

import pytest

from fromscratch.reldb.pgwire.protocol import Backend

from . import pgclient as C


def drive(backend, data):
    backend.feed(data)
    steps = 0
    while backend.step():
        steps += 1
        assert steps < 100000
    return C.split(backend.take_output())


def ready_backend(engine):
    b = Backend(engine)
    drive(b, C.startup())
    return b


def test_random_bytes_before_startup(engine):
    rng = random.Random(1234)
    for _ in range(300):
        b = Backend(engine)
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
        b.feed(data)
        while b.step():
            pass
        b.take_output()


def test_random_messages_after_startup(engine):
    rng = random.Random(42)
    kinds = b"QPBDEHSCXdcfpFZ!?\x00\xff"
    for _ in range(500):
        b = ready_backend(engine)
        kind = bytes([rng.choice(kinds)])
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 60)))
        out = drive(b, C.msg(kind, body) + C.sync())
        for k, _ in out:
            assert k in "EZNCTDI123nstGHdcsK"


def test_truncated_messages_wait_for_more(engine):
    b = ready_backend(engine)
    whole = C.query("SELECT 1")
    for i in range(1, len(whole)):
        b.feed(whole[i - 1:i])
        assert b.step() is False or i == len(whole)
    out = drive(b, whole[-1:])
    assert C.data_rows(out) == [["1"]]


@pytest.mark.parametrize("length", [-5, 0, 3, 0x7FFFFFFF])
def test_lying_lengths_close_with_an_error(engine, length):
    b = ready_backend(engine)
    out = drive(b, b"Q" + struct.pack("!i", length) + b"SELECT 1\0")
    if length < 4 or length > 1 << 30:
        assert out and out[0][0] == "E" and b.closed


def test_giant_startup_packet(engine):
    b = Backend(engine)
    out = drive(b, struct.pack("!ii", 1 << 30, 196608))
    assert out[0][0] == "E" and b.closed


def test_unknown_message_type_is_a_protocol_violation(engine):
    b = ready_backend(engine)
    out = drive(b, C.msg(b"?", b"junk"))
    assert out[0][0] == "E" and C.fields(out[0][1])["C"] == "08P01"


def test_invalid_utf8_in_query(engine):
    b = ready_backend(engine)
    out = drive(b, C.msg(b"Q", b"SELECT '\xff\xfe'\0"))
    assert out[0][0] == "E" and C.fields(out[0][1])["C"] == "22021"


def test_invalid_utf8_in_copy_data(engine):
    b = ready_backend(engine)
    drive(b, C.query("CREATE TABLE t (a text)"))
    drive(b, C.query("COPY t FROM STDIN"))
    out = drive(b, C.copy_data(b"\xff\xfe\n") + C.copy_done())
    assert out[0][0] == "E" and C.fields(out[0][1])["C"] == "22021"
    assert drive(b, C.query("SELECT count(*) FROM t"))[-1] == ("Z", b"I")


def test_bind_with_wrong_parameter_count_and_bad_binary(engine):
    b = ready_backend(engine)
    out = drive(b, C.parse("SELECT $1::int") + C.bind([]) + C.sync())
    assert C.fields(out[1][1])["C"] == "08P01"
    out = drive(b, C.parse("SELECT $1::int") + C.bind([b"\x01\x02"], formats=(1,)) + C.sync())
    assert C.fields(out[1][1])["C"] == "22P03"
    assert drive(b, C.query("SELECT 1"))[-1] == ("Z", b"I")


def test_deeply_nested_expression(engine):
    b = ready_backend(engine)
    out = drive(b, C.query("SELECT " + "(" * 10000 + "1" + ")" * 10000))
    assert out[0][0] == "E" and C.fields(out[0][1])["C"] == "54001"
    out = drive(b, C.query("SELECT " + " + ".join(["1"] * 5000)))
    assert out[-1] == ("Z", b"I")


def test_messages_out_of_place(engine):
    b = ready_backend(engine)
    out = drive(b, C.copy_data(b"x") + C.copy_done() + C.query("SELECT 1"))
    assert C.data_rows(out) == [["1"]]
    out = drive(b, C.execute("nope") + C.sync())
    assert C.fields(out[0][1])["C"] == "34000"
