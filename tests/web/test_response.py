from datetime import datetime, timezone

import pytest

from fromscratch.web import Response, redirect
from fromscratch.web.datastructures import (Headers, MultiDict, format_cookie,
                                            parse_cookie_header, parse_options_header)


def test_headers_are_case_insensitive_and_multi():
    h = Headers({"Content-Type": "text/plain"})
    h.add("Set-Cookie", "a=1")
    h.add("set-cookie", "b=2")
    assert h["content-type"] == "text/plain" and "CONTENT-TYPE" in h
    assert h.get_all("Set-Cookie") == ["a=1", "b=2"]
    h["SET-COOKIE"] = "c=3"
    assert h.get_all("set-cookie") == ["c=3"]
    del h["content-type"]
    assert "Content-Type" not in h and len(h) == 1
    assert Headers([("A", "1"), ("A", "2")]).get_all("a") == ["1", "2"]


def test_multidict():
    d = MultiDict([("a", "1"), ("a", "2"), ("b", "x")])
    assert d["a"] == "1" and d.getlist("a") == ["1", "2"]
    assert d.items(multi=True) == [("a", "1"), ("a", "2"), ("b", "x")]
    assert d.to_dict() == {"a": "1", "b": "x"}
    assert d.getlist("a", type=int) == [1, 2]


def test_set_cookie_with_all_attributes():
    r = Response("x")
    r.set_cookie("id", "abc", max_age=60, expires=datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
                 path="/app", domain="example.com", secure=True, httponly=True,
                 samesite="strict", partitioned=True)
    assert r.headers["Set-Cookie"] == (
        "id=abc; Max-Age=60; Expires=Wed, 02 Jan 2030 03:04:05 GMT; Domain=example.com; "
        "Path=/app; Secure; HttpOnly; SameSite=Strict; Partitioned")
    r.delete_cookie("old")
    assert "old=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/" in r.headers.get_all("Set-Cookie")
    with pytest.raises(ValueError):
        format_cookie("bad name", "x")
    with pytest.raises(ValueError):
        format_cookie("n", "x", samesite="sometimes")


@pytest.mark.parametrize("value", ["plain", "with space", 'quote"and\\slash', "semi;colon,comma", "ünï"])
def test_cookie_values_roundtrip(value):
    set_cookie = format_cookie("k", value)
    pair = set_cookie[:set_cookie.index("; Path")]
    assert parse_cookie_header(pair) == {"k": value}


def test_cookie_parsing_is_lenient():
    assert parse_cookie_header("a=1; junk; =x; b=2; a=3") == {"a": "1", "b": "2"}


def test_options_header():
    assert parse_options_header('form-data; name="a\\"b"; filename*=UTF-8\'\'%C3%A9.txt') == (
        "form-data", {"name": 'a"b', "filename": "é.txt"})
    assert parse_options_header("Text/HTML;Charset=utf-8") == ("text/html", {"charset": "utf-8"})


def test_redirect():
    r = redirect("/x?a=<b>", 303)
    assert r.status_code == 303 and r.headers["Location"] == "/x?a=<b>"
    assert "&lt;b&gt;" in r.text


def test_streaming_body_closed_after_use():
    closed = []

    def gen():
        try:
            yield "a"
            yield b"b"
        finally:
            closed.append(True)
    r = Response(gen())
    out = []
    status = []
    body = r({"REQUEST_METHOD": "GET"}, lambda s, h: status.append((s, h)))
    out.extend(body)
    body.close()
    assert out == [b"a", b"b"] and closed == [True]
    assert not any(name == "Content-Length" for name, _ in status[0][1])


def test_json_of_unusual_types():
    import dataclasses
    import decimal
    import uuid
    from fromscratch.web.response import dumps

    @dataclasses.dataclass
    class P:
        x: int
    value = {"d": datetime(2020, 1, 1), "u": uuid.UUID(int=1), "dec": decimal.Decimal("1.5"),
             "s": {1}, "p": P(2), "é": "ü"}
    assert dumps(value) == ('{"d":"2020-01-01T00:00:00","u":"00000000-0000-0000-0000-000000000001",'
                            '"dec":"1.5","s":[1],"p":{"x":2},"é":"ü"}').encode()
    with pytest.raises(TypeError):
        dumps(object())
