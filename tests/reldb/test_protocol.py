"""The protocol state machine fed with bytes, as a client would send them."""

import hashlib
import struct

import pytest

from fromscratch.reldb.pgwire.protocol import Backend

from . import pgclient as C


def exchange(backend, *chunks):
    for chunk in chunks:
        backend.feed(chunk)
    while backend.step():
        pass
    return C.split(backend.take_output())


@pytest.fixture
def backend(engine):
    b = Backend(engine)
    messages = exchange(b, C.startup())
    assert [k for k, _ in messages][0] == "R" and messages[-1] == ("Z", b"I")
    return b


def test_startup_sends_parameters_and_key(engine):
    b2 = Backend(engine)
    assert b2.feed(C.ssl_request()) is None and b2.step() is True
    assert b2.take_output() == b"N"
    messages = exchange(b2, C.startup(application_name="app"))
    params = dict(body.rstrip(b"\0").split(b"\0") for k, body in messages if k == "S")
    assert params[b"server_version"].startswith(b"15.")
    assert params[b"application_name"] == b"app"
    assert params[b"client_encoding"] == b"UTF8" and params[b"DateStyle"] == b"ISO, MDY"
    assert any(k == "K" for k, _ in messages)


def test_unknown_database_is_fatal_3d000(engine):
    b = Backend(engine)
    messages = exchange(b, C.startup(database="nope"))
    f = C.fields(messages[0][1])
    assert messages[0][0] == "E" and f["S"] == "FATAL" and f["C"] == "3D000"
    assert b.closed


def test_simple_query_several_statements(backend):
    messages = exchange(backend, C.query("SELECT 1 AS a; SELECT 'x' AS b, NULL AS c"))
    kinds = [k for k, _ in messages]
    assert kinds == ["T", "D", "C", "T", "D", "C", "Z"]
    assert C.data_rows(messages) == [["1"], ["x", None]]


def test_empty_query(backend):
    assert [k for k, _ in exchange(backend, C.query("  ; "))] == ["I", "Z"]


def test_error_then_ready(backend):
    messages = exchange(backend, C.query("SELECT * FROM nope"))
    assert [k for k, _ in messages] == ["E", "Z"]
    f = C.fields(messages[0][1])
    assert f["C"] == "42P01" and f["P"] == "15" and f["M"] == 'relation "nope" does not exist'


def test_extended_protocol_with_parameters(backend):
    messages = exchange(backend, C.parse("SELECT $1::int + $2", types=(0, 23)),
                        C.bind([b"40", struct.pack("!i", 2)], formats=(0, 1)),
                        C.describe("P"), C.execute(), C.sync())
    assert [k for k, _ in messages] == ["1", "2", "T", "D", "C", "Z"]
    assert C.data_rows(messages) == [["42"]]


def test_describe_statement_reports_inferred_parameter_types(backend):
    exchange(backend, C.query("CREATE TABLE t (a bigint, b text)"))
    messages = exchange(backend, C.parse("INSERT INTO t VALUES ($1, $2)", name="s1"),
                        C.describe("S", "s1"), C.sync())
    assert [k for k, _ in messages] == ["1", "t", "n", "Z"]
    body = messages[1][1]
    assert struct.unpack("!hII", body) == (2, 20, 25)


def test_error_skips_to_sync(backend):
    messages = exchange(backend, C.parse("SELECT 1/0"), C.bind(), C.execute(),
                        C.parse("SELECT 2"), C.bind(), C.execute(), C.sync(),
                        C.parse("SELECT 3"), C.bind(), C.execute(), C.sync())
    kinds = [k for k, _ in messages]
    assert kinds == ["1", "2", "E", "Z", "1", "2", "D", "C", "Z"]
    assert C.data_rows(messages) == [["3"]]


def test_portal_row_limit_suspends(backend):
    messages = exchange(backend, C.parse("SELECT g FROM generate_series(1, 5) g"),
                        C.bind(), C.execute(max_rows=2), C.execute(max_rows=2),
                        C.execute(max_rows=2), C.sync())
    kinds = [k for k, _ in messages]
    assert kinds == ["1", "2", "D", "D", "s", "D", "D", "s", "D", "C", "Z"]
    assert C.data_rows(messages) == [["1"], ["2"], ["3"], ["4"], ["5"]]


def test_ready_status_byte_tracks_transactions(backend):
    assert exchange(backend, C.query("BEGIN"))[-1] == ("Z", b"T")
    assert exchange(backend, C.query("SELECT 1/0"))[-1] == ("Z", b"E")
    assert exchange(backend, C.query("ROLLBACK"))[-1] == ("Z", b"I")


def test_copy_from_stdin(backend):
    exchange(backend, C.query("CREATE TABLE t (a int, b text)"))
    messages = exchange(backend, C.query("COPY t FROM STDIN"))
    assert messages[0][0] == "G"
    messages = exchange(backend, C.copy_data(b"1\tx\n2\t"), C.copy_data(b"\\N\n"), C.copy_done())
    assert messages == [("C", b"COPY 2\0"), ("Z", b"I")]
    rows = C.data_rows(exchange(backend, C.query("SELECT * FROM t ORDER BY a")))
    assert rows == [["1", "x"], ["2", None]]


def test_copy_fail(backend):
    exchange(backend, C.query("CREATE TABLE t (a int)"))
    exchange(backend, C.query("COPY t FROM STDIN"))
    messages = exchange(backend, C.copy_data(b"1\n"), C.msg(b"f", b"client gave up\0"))
    assert messages[0][0] == "E" and C.fields(messages[0][1])["C"] == "57014"
    assert C.data_rows(exchange(backend, C.query("SELECT count(*) FROM t"))) == [["0"]]


def test_copy_to_stdout(backend):
    messages = exchange(backend, C.query("COPY (SELECT 1, 'a\tb', NULL) TO STDOUT"))
    assert [k for k, _ in messages] == ["H", "d", "c", "C", "Z"]
    assert messages[1][1] == b"1\ta\\tb\t\\N\n"


def test_notice_for_drop_if_exists(backend):
    messages = exchange(backend, C.query("DROP TABLE IF EXISTS nope"))
    assert messages[0][0] == "N"
    assert C.fields(messages[0][1])["M"] == 'table "nope" does not exist, skipping'


@pytest.fixture
def authed(make_engine):
    engine = make_engine(password="s3cret")
    return lambda method: Backend(engine, method)


def test_scram_sha_256(authed):
    b = authed("scram-sha-256")
    messages = exchange(b, C.startup())
    assert messages[0][0] == "R" and messages[0][1][:4] == struct.pack("!i", 10)
    client = C.ScramClient("postgres", "s3cret")
    messages = exchange(b, client.initial())
    assert messages[0][1][:4] == struct.pack("!i", 11)
    messages = exchange(b, client.final(messages[0][1][4:]))
    assert messages[0][1][:4] == struct.pack("!i", 12)
    assert messages[0][1][4:].decode() == "v=" + client.expected_server_signature
    assert messages[-1] == ("Z", b"I")


def test_scram_wrong_password(authed):
    b = authed("scram-sha-256")
    exchange(b, C.startup())
    client = C.ScramClient("postgres", "wrong")
    messages = exchange(b, client.initial())
    messages = exchange(b, client.final(messages[0][1][4:]))
    f = C.fields(messages[0][1])
    assert f["C"] == "28P01" and f["S"] == "FATAL" and b.closed


def test_md5_and_cleartext(authed):
    b = authed("md5")
    salt = exchange(b, C.startup())[0][1][4:8]
    inner = hashlib.md5(b"s3cretpostgres").hexdigest()
    answer = "md5" + hashlib.md5(inner.encode() + salt).hexdigest()
    assert exchange(b, C.password(answer.encode() + b"\0"))[-1] == ("Z", b"I")
    b = authed("password")
    exchange(b, C.startup())
    assert exchange(b, C.password(b"s3cret\0"))[-1] == ("Z", b"I")
    b = authed("password")
    exchange(b, C.startup())
    assert C.fields(exchange(b, C.password(b"nope\0"))[0][1])["C"] == "28P01"


def test_cancel_request_closes_quietly(engine):
    b = Backend(engine)
    assert exchange(b, C.cancel_request(1, 2)) == []
    assert b.closed
