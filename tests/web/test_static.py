import os

import pytest

from fromscratch.web import App
from fromscratch.web.static import safe_join


@pytest.fixture
def app(tmp_path):
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    (static / "css" / "site.css").write_text("body { color: red; }\n")
    (static / "data.bin").write_bytes(bytes(range(100)))
    (tmp_path / "secret.txt").write_text("top secret")
    os.symlink(tmp_path / "secret.txt", static / "link.txt")
    app = App(root_path=str(tmp_path))

    @app.get("/download")
    def download(request):
        from fromscratch.web import send_file
        return send_file(request, str(static / "data.bin"), as_attachment=True,
                         download_name="résumé.bin")
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def test_serves_with_validators(client):
    r = client.get("/static/css/site.css")
    assert r.status_code == 200 and r.text == "body { color: red; }\n"
    assert r.headers["Content-Type"] == "text/css; charset=utf-8"
    assert r.headers["ETag"].startswith('"') and r.headers["Last-Modified"].endswith("GMT")
    assert r.headers["Content-Length"] == "21" and r.headers["Accept-Ranges"] == "bytes"


def test_conditional_requests(client):
    first = client.get("/static/css/site.css")
    r = client.get("/static/css/site.css", headers={"If-None-Match": first.headers["ETag"]})
    assert r.status_code == 304 and r.data == b"" and "Content-Type" not in r.headers
    assert r.headers["ETag"] == first.headers["ETag"]
    r = client.get("/static/css/site.css", headers={"If-None-Match": '"other", W/' + first.headers["ETag"]})
    assert r.status_code == 304
    r = client.get("/static/css/site.css", headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert r.status_code == 304
    r = client.get("/static/css/site.css", headers={"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"})
    assert r.status_code == 200
    r = client.get("/static/css/site.css", headers={"If-Modified-Since": "not a date"})
    assert r.status_code == 200


@pytest.mark.parametrize("header, status, body, content_range", [
    ("bytes=0-9", 206, bytes(range(10)), "bytes 0-9/100"),
    ("bytes=90-", 206, bytes(range(90, 100)), "bytes 90-99/100"),
    ("bytes=-5", 206, bytes(range(95, 100)), "bytes 95-99/100"),
    ("bytes=95-500", 206, bytes(range(95, 100)), "bytes 95-99/100"),
    ("bytes=100-", 416, b"", "bytes */100"),
    ("bytes=0-1,5-6", 200, bytes(range(100)), None),      # multiple ranges: whole file
    ("bytes=9-3", 200, bytes(range(100)), None),          # invalid: ignored
    ("items=0-1", 200, bytes(range(100)), None),
])
def test_ranges(client, header, status, body, content_range):
    r = client.get("/static/data.bin", headers={"Range": header})
    assert r.status_code == status
    if status != 416:
        assert r.data == body
    assert r.headers.get("Content-Range") == content_range


def test_if_range(client):
    etag = client.get("/static/data.bin").headers["ETag"]
    r = client.get("/static/data.bin", headers={"Range": "bytes=0-1", "If-Range": etag})
    assert r.status_code == 206
    r = client.get("/static/data.bin", headers={"Range": "bytes=0-1", "If-Range": '"stale"'})
    assert r.status_code == 200 and len(r.data) == 100


@pytest.mark.parametrize("path", [
    "/static/../secret.txt", "/static/%2e%2e/secret.txt", "/static/css/%2E%2E/%2E%2E/secret.txt",
    "/static/..%2fsecret.txt", "/static/%2fetc/passwd", "/static/css\\..\\..\\secret.txt",
    "/static/link.txt", "/static/nope.css", "/static/css", "/static/%00x",
])
def test_no_traversal(client, path):
    r = client.get(path)
    assert r.status_code == 404
    assert "top secret" not in r.text


def test_safe_join(tmp_path):
    assert safe_join(str(tmp_path), "a/./b.txt") == str(tmp_path / "a" / "b.txt")
    for bad in ["../x", "a/../../x", "/etc/passwd", "", "a\\b", "x\x00"]:
        assert safe_join(str(tmp_path), bad) is None


def test_attachment_and_head(client):
    r = client.get("/download")
    assert r.headers["Content-Disposition"] == (
        "attachment; filename=\"r?sum?.bin\"; filename*=UTF-8''r%C3%A9sum%C3%A9.bin")
    r = client.head("/static/data.bin")
    assert r.status_code == 200 and r.data == b"" and r.headers["Content-Length"] == "100"
