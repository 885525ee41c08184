import io

import pytest

from fromscratch.web import App, Request
from fromscratch.web.errors import HTTPError
from fromscratch.web.multipart import parse_multipart
from fromscratch.web.testing import encode_multipart
from fromscratch.web.wsgi import make_environ


def make_request(method="GET", path=b"/", query=b"", headers=(), body=b""):
    environ = make_environ(method, path, query, list(headers), io.BytesIO(body))
    return Request(environ, None)


def test_basic_attributes():
    r = make_request("GET", b"/caf%C3%A9/x", b"a=1&a=2&b=&c=%20",
                     [("Host", "example.com"), ("X-Thing", "v"), ("Cookie", 'a=1; b="x y"')])
    assert r.method == "GET" and r.path == "/café/x"
    assert r.args["a"] == "1" and r.args.getlist("a") == ["1", "2"]
    assert r.args["b"] == "" and r.args["c"] == " "
    assert r.args.get("a", type=int) == 1 and r.args.get("zz", 5) == 5
    assert r.headers["x-thing"] == "v" and r.headers["HOST"] == "example.com"
    assert r.cookies == {"a": "1", "b": "x y"}
    assert r.url == "http://example.com/caf%C3%A9/x?a=1&a=2&b=&c=%20"
    assert r.base_url == "http://example.com/caf%C3%A9/x"
    assert r.url_root == "http://example.com/"
    assert r.full_path == "/café/x?a=1&a=2&b=&c=%20"
    assert r.remote_addr == "127.0.0.1"


def test_host_without_host_header_and_raw_body():
    environ = make_environ("POST", b"/", b"", [("Content-Length", "3")], io.BytesIO(b"abc"),
                           server_name="srv", server_port=8080)
    r = Request(environ, None)
    assert r.host == "srv:8080" and r.get_data() == b"abc" and r.get_data(as_text=True) == "abc"


def test_missing_arg_is_a_400():
    r = make_request()
    with pytest.raises(KeyError):
        r.args["missing"]
    with pytest.raises(HTTPError) as info:
        r.args["missing"]
    assert info.value.code == 400


def test_urlencoded_form():
    r = make_request("POST", headers=[("Content-Type", "application/x-www-form-urlencoded"),
                                      ("Content-Length", "13")], body=b"a=1&b=x+y&a=3")
    assert r.form["b"] == "x y" and r.form.getlist("a") == ["1", "3"]
    assert r.values.getlist("a") == ["1", "3"]


def test_json_body():
    r = make_request("POST", headers=[("Content-Type", "application/json; charset=utf-8"),
                                      ("Content-Length", "8")], body=b'{"a": 1}')
    assert r.is_json and r.json == {"a": 1}
    bad = make_request("POST", headers=[("Content-Type", "application/json"),
                                        ("Content-Length", "3")], body=b"{x]")
    with pytest.raises(HTTPError) as info:
        bad.json
    assert info.value.code == 400
    not_json = make_request("POST", headers=[("Content-Type", "text/plain"),
                                             ("Content-Length", "2")], body=b"{}")
    assert not_json.json is None and not_json.body == b"{}"


def test_multipart_fields_and_files(tmp_path):
    body, content_type = encode_multipart({"title": "hello", "tags": ["a", "b"]},
                                          {"doc": ("notes.txt", b"x" * 5000, "text/plain")})
    r = make_request("POST", headers=[("Content-Type", content_type),
                                      ("Content-Length", str(len(body)))], body=body)
    assert r.form["title"] == "hello" and r.form.getlist("tags") == ["a", "b"]
    upload = r.files["doc"]
    assert (upload.filename, upload.content_type, upload.size) == ("notes.txt", "text/plain", 5000)
    upload.save(tmp_path / "saved")
    assert (tmp_path / "saved").read_bytes() == b"x" * 5000
    r.close()
    assert upload.stream.closed


def test_multipart_spools_big_files_to_disk():
    body, content_type = encode_multipart({}, {"big": ("big.bin", b"\x01" * 200_000)})
    _form, files = parse_multipart(io.BytesIO(body), content_type.split("boundary=")[1],
                                   len(body), spool_size=1000)
    stream = files["big"].stream
    assert stream._rolled          # moved from memory to a temporary file
    assert files["big"].read() == b"\x01" * 200_000
    files["big"].close()


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
def test_multipart_boundary_split_across_reads(chunk):
    body, content_type = encode_multipart({"f": "v" * 300}, {"u": ("a.bin", bytes(range(256)) * 4)})

    class Trickle(io.BytesIO):
        def read(self, size=-1):
            return super().read(min(size, chunk) if size > 0 else chunk)
    form, files = parse_multipart(Trickle(body), content_type.split("boundary=")[1], len(body))
    assert form["f"] == "v" * 300 and files["u"].read() == bytes(range(256)) * 4
    files["u"].close()


@pytest.mark.parametrize("body", [
    b"no boundary at all",
    b"--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--",        # no name
    b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\ntruncated",
    b"--B\r\nbad header line\r\n\r\nx\r\n--B--",
    b"--Bxx",
])
def test_malformed_multipart_is_400(body):
    with pytest.raises(HTTPError) as info:
        parse_multipart(io.BytesIO(body), "B", len(body))
    assert info.value.code == 400


def test_content_negotiation():
    r = make_request(headers=[("Accept", "text/html;q=0.5, application/json, */*;q=0.1")])
    assert r.best_match(["text/html", "application/json"]) == "application/json"
    assert r.accepts("image/png") and r.accepts("text/html")
    r = make_request(headers=[("Accept", "text/*")])
    assert not r.accepts("application/json") and r.best_match(["application/json"]) is None
    assert make_request().best_match(["text/html", "application/json"]) == "text/html"
    r = make_request(headers=[("Accept-Language", "fr;q=0.5, en")])
    assert r.accept_languages[0] == ("en", 1.0)


def test_body_limit_checked_before_reading():
    class Exploding(io.BytesIO):
        def read(self, *args):
            raise AssertionError("the body must not be read")
    environ = make_environ("POST", b"/", b"", [("Content-Length", "1000")], Exploding())
    request = Request(environ, None)
    request.max_content_length = 100
    with pytest.raises(HTTPError) as info:
        request.body
    assert info.value.code == 413


def test_chunked_body_without_length_is_limited():
    environ = make_environ("POST", b"/", b"", [], io.BytesIO(b"y" * 500))
    request = Request(environ, None)
    request.max_content_length = 100
    with pytest.raises(HTTPError):
        request.body


def test_upload_through_test_client(tmp_path):
    app = App(root_path=str(tmp_path))

    @app.post("/upload")
    def upload(request):
        f = request.files["file"]
        return {"name": f.filename, "size": len(f.read()), "note": request.form["note"]}

    r = app.test_client().post("/upload", data={"note": "hi"}, files={"file": ("a.txt", b"abc")})
    assert r.json == {"name": "a.txt", "size": 3, "note": "hi"}
