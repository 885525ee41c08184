"""The HTTP/1.1 request parser, fed bytes directly: no sockets."""

import http.client
import io
import random

import pytest

from fromscratch.web.http.parser import (NEED_DATA, Data, EndOfMessage, ProtocolError,
                                         RequestHead, RequestParser)
from fromscratch.web.http.writer import chunk, response_head, simple_response


def events(data: bytes, parser=None, step=None):
    """All events from `data`, fed whole or `step` bytes at a time."""
    parser = parser or RequestParser()
    out = []
    pieces = [data] if step is None else [data[i:i + step] for i in range(0, len(data), step)]
    for piece in pieces:
        parser.feed(piece)
        while (event := parser.next_event()) is not NEED_DATA:
            out.append(event)
    return out


def merged(evts):
    """Adjacent Data events joined, so byte-at-a-time and whole feeds compare equal."""
    out = []
    for e in evts:
        if isinstance(e, Data) and out and isinstance(out[-1], Data):
            out[-1] = Data(out[-1].data + e.data)
        else:
            out.append(e)
    return out


def test_simple_get():
    [head, end] = events(b"GET /a?b=1 HTTP/1.1\r\nHost: x\r\nX-A:  v \r\n\r\n")
    assert isinstance(head, RequestHead) and isinstance(end, EndOfMessage)
    assert (head.method, head.target, head.version) == ("GET", b"/a?b=1", "HTTP/1.1")
    assert head.headers == [("Host", "x"), ("X-A", "v")]
    assert head.keep_alive and head.content_length is None and not head.chunked


def test_content_length_body_any_split():
    data = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world"
    expected = merged(events(data))
    assert expected[1] == Data(b"hello world")
    for step in (1, 2, 5, 13):
        assert merged(events(data, step=step)) == expected


def test_chunked_body_and_trailers():
    data = (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
    for step in (None, 1, 3):
        evts = merged(events(data, step=step))
        assert evts[0].chunked and evts[1] == Data(b"hello world")
        assert evts[2] == EndOfMessage([("X-Trailer", "t")])


def test_pipelined_requests_in_order():
    data = b"".join(f"GET /{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for i in range(3))
    heads = [e.target for e in events(data) if isinstance(e, RequestHead)]
    assert heads == [b"/0", b"/1", b"/2"]


def test_connection_semantics():
    [head, _] = events(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert not head.keep_alive
    [head, _] = events(b"GET / HTTP/1.0\r\n\r\n")
    assert not head.keep_alive
    [head, _] = events(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
    assert head.keep_alive
    [head, *_] = events(b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n")
    assert head.expect_continue


def test_leading_empty_lines_and_bare_lf_are_tolerated():
    [head, _] = events(b"\r\n\r\nGET / HTTP/1.1\nHost: x\n\n")
    assert head.target == b"/" and head.headers == [("Host", "x")]


def test_later_minor_versions_are_treated_as_1_1():
    [head, _] = events(b"GET / HTTP/1.2\r\nHost: x\r\n\r\n")
    assert head.version == "HTTP/1.1" and head.keep_alive


def test_absolute_form_and_asterisk():
    [head, _] = events(b"GET http://x/y HTTP/1.1\r\nHost: x\r\n\r\n")
    assert head.target == b"http://x/y"
    [head, _] = events(b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n")
    assert head.target == b"*"


@pytest.mark.parametrize("data, status", [
    (b"GET / HTTP/1.1\r\n\r\n", 400),                                    # no Host
    (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    (b"GET /\r\n\r\n", 400),
    (b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    (b"GET / HTTQ/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET noslash HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),                         # space before colon
    (b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400),               # obs-fold
    (b"GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
    (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n", 417),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd", 400),
])
def test_malformed_requests(data, status):
    with pytest.raises(ProtocolError) as info:
        events(data)
    assert info.value.status == status


def test_identical_content_length_list_is_one_value():
    [head, body, _] = events(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\n\r\nab")
    assert head.content_length == 2 and body == Data(b"ab")


def test_limits():
    parser = RequestParser(max_request_line=100, max_header_size=1000, max_headers=5)
    with pytest.raises(ProtocolError) as info:
        events(b"GET /" + b"a" * 200, RequestParser(max_request_line=100))     # incomplete
    assert info.value.status == 414
    with pytest.raises(ProtocolError) as info:
        events(b"GET /" + b"a" * 200 + b" HTTP/1.1\r\nHost: x\r\n\r\n", RequestParser(max_request_line=100))
    assert info.value.status == 414
    with pytest.raises(ProtocolError) as info:
        events(b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"v" * 2000, parser)
    assert info.value.status == 431
    many = b"".join(b"X-%d: v\r\n" % i for i in range(6))
    with pytest.raises(ProtocolError) as info:
        events(b"GET / HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n", RequestParser(max_headers=5))
    assert info.value.status == 431
    with pytest.raises(ProtocolError) as info:
        events(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
               + b"T: " + b"v" * 2000, RequestParser(max_header_size=1000))
    assert info.value.status == 431


def test_closed_parser_ignores_input():
    parser = RequestParser()
    events(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", parser)
    parser.close()
    assert events(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", parser) == []


def test_fuzz_random_bytes_never_crash():
    """Random garbage and random mutations of valid requests: the parser either yields
    events or raises ProtocolError -- never any other exception, never a hang."""
    rng = random.Random(1234)
    valid = [
        b"GET /x?y=1 HTTP/1.1\r\nHost: h\r\nCookie: a=1\r\n\r\n",
        b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
        b"POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    ]
    alphabet = b"\r\n :;/?-0123456789abcdefGHPOST\x00\x7f\xff\t"
    for i in range(3000):
        if i % 3 == 0:
            data = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 200)))
        else:
            data = bytearray(rng.choice(valid))
            for _ in range(rng.randint(1, 4)):
                position = rng.randrange(len(data))
                action = rng.random()
                if action < 0.4:
                    data[position] = rng.randrange(256)
                elif action < 0.7:
                    del data[position]
                else:
                    data.insert(position, rng.choice(alphabet))
            data = bytes(data)
        if rng.random() < 0.3:
            data = data[:rng.randint(0, len(data))]                 # truncated
        try:
            events(data, step=rng.choice([None, 1, 7]))
        except ProtocolError as error:
            assert 400 <= error.status < 600


def test_writer_frames_responses():
    head = response_head("200 OK", [("Content-Type", "text/plain"), ("Connection", "upgrade")],
                         keep_alive=False, chunked=True)
    assert head.startswith(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: ")
    assert b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" in head
    assert b"upgrade" not in head
    assert chunk(b"hello") == b"5\r\nhello\r\n"
    with pytest.raises(ValueError):
        response_head("200 OK", [("X", "a\r\nInjected: 1")], keep_alive=True, chunked=False)


def test_writer_output_is_read_by_the_stdlib_client():
    raw = simple_response(404, "nope")

    class FakeSocket:
        def makefile(self, mode):
            return io.BytesIO(raw)
    response = http.client.HTTPResponse(FakeSocket())
    response.begin()
    assert response.status == 404 and response.read() == b"nope\n"
    assert response.getheader("Connection") == "close"


def test_a_head_trickling_in_is_not_rescanned():
    """Byte-at-a-time input must cost about the same as one feed (no quadratic rescans):
    counted in searched bytes, not timed."""
    import fromscratch.web.http.parser as parser_module

    searched = []
    real_pattern = parser_module._HEAD_END

    class CountingPattern:
        def search(self, buffer, start=0):
            searched.append(len(buffer) - start)
            return real_pattern.search(buffer, start)
    parser_module._HEAD_END = CountingPattern()
    try:
        data = b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"v" * 5000 + b"\r\n\r\n"
        events(data, step=1)
    finally:
        parser_module._HEAD_END = real_pattern
    assert sum(searched) < 10 * len(data)
