"""What a client should see from the compat app, whatever WSGI server runs it.

The same checks run against our server, gunicorn and waitress: the app must behave
the same under each, unchanged.
"""

import http.client
import json
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from fromscratch.web.testing import encode_multipart


def _status(url: str, **kwargs) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, **kwargs)) as response:
            return response.status
    except urllib.error.HTTPError as error:
        error.close()
        return error.code


def check_app(base_url: str) -> None:
    with urllib.request.urlopen(base_url + "/") as response:
        assert response.read() == b"Hello, World!"
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    with urllib.request.urlopen(base_url + "/json?a=b") as response:
        assert json.load(response) == {"message": "Hello, World!", "args": {"a": "b"}}

    body, content_type = encode_multipart({"note": "hi"}, {"file": ("a.txt", b"file body")})
    request = urllib.request.Request(base_url + "/form", data=body,
                                     headers={"Content-Type": content_type})
    with urllib.request.urlopen(request) as response:
        assert json.load(response) == {"form": {"note": "hi"},
                                       "file": {"name": "a.txt", "data": "file body"}}

    with urllib.request.urlopen(base_url + "/stream?n=2") as response:
        assert response.read() == b"chunk 0\nchunk 1\n"

    assert _status(base_url + "/missing") == 404
    assert _status(base_url + "/", method="DELETE") == 405
    assert _status(base_url + "/boom") == 500

    # Static file: validators, 304 and ranges.
    with urllib.request.urlopen(base_url + "/static/site.css") as response:
        etag = response.headers["ETag"]
        assert response.read() == b"body { font-family: sans-serif; }\n"
    assert _status(base_url + "/static/site.css", headers={"If-None-Match": etag}) == 304
    request = urllib.request.Request(base_url + "/static/site.css", headers={"Range": "bytes=0-3"})
    with urllib.request.urlopen(request) as response:
        assert response.status == 206 and response.read() == b"body"

    # Sessions survive between requests through the cookie.
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    counts = []
    for _ in range(2):
        with opener.open(base_url + "/count") as response:
            counts.append(json.load(response)["n"])
    assert counts == [1, 2]

    # HEAD: headers only.
    address = urlsplit(base_url)
    conn = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    conn.request("HEAD", "/json")
    response = conn.getresponse()
    assert response.status == 200 and response.read() == b""
    assert int(response.getheader("Content-Length")) > 0
    conn.close()
