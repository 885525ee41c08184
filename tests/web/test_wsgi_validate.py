"""Every kind of response the framework produces, checked by the stdlib's WSGI validator."""

from wsgiref.validate import validator

import pytest

from fromscratch.web import App, abort, redirect
from fromscratch.web.testing import TestClient


@pytest.fixture
def client(tmp_path):
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "f.txt").write_text("0123456789")
    app = App(root_path=str(tmp_path), secret_key="k")

    @app.get("/text")
    def text(request):
        return "hi"

    @app.get("/json")
    def json(request):
        return {"a": 1}

    @app.get("/stream")
    def stream(request):
        return iter(["a", b"b"])

    @app.get("/empty")
    def empty(request):
        return "", 204

    @app.get("/redirect")
    def go(request):
        return redirect("/text")

    @app.get("/abort")
    def do_abort(request):
        abort(418)

    @app.get("/boom")
    def boom(request):
        raise ValueError

    @app.get("/session")
    def session(request):
        request.session["x"] = 1
        return "s"

    @app.post("/form")
    def form(request):
        return request.form["a"]

    return TestClient(validator(app))


@pytest.mark.parametrize("method, path, kwargs, status", [
    ("GET", "/text", {}, 200), ("GET", "/json", {}, 200), ("GET", "/stream", {}, 200),
    ("GET", "/empty", {}, 204), ("GET", "/redirect", {}, 302), ("GET", "/abort", {}, 418),
    ("GET", "/boom", {}, 500), ("GET", "/session", {}, 200), ("GET", "/missing", {}, 404),
    ("DELETE", "/text", {}, 405), ("OPTIONS", "/text", {}, 200), ("HEAD", "/text", {}, 200),
    ("HEAD", "/stream", {}, 200), ("GET", "/static/f.txt", {}, 200),
    ("GET", "/static/f.txt", {"headers": {"Range": "bytes=2-4"}}, 206),
    ("GET", "/static/f.txt", {"headers": {"Range": "bytes=20-"}}, 416),
    ("GET", "/static/f.txt", {"headers": {"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}}, 304),
    ("POST", "/form", {"data": {"a": "1"}}, 200), ("POST", "/form", {"data": {}}, 400),
    ("GET", "/text/", {}, 404),
])
def test_validator_accepts(client, method, path, kwargs, status):
    assert client.open(path, method, **kwargs).status_code == status
