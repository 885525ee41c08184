import uuid

import pytest

from fromscratch.web.errors import HTTPError
from fromscratch.web.routing import RequestRedirect, Router


def view(request, **kw):
    return kw


@pytest.fixture
def router():
    r = Router()
    r.add("/", "index", view)
    r.add("/users/<int:uid>", "user", view)
    r.add("/users/<int:uid>", "user_update", lambda *a, **k: None, ["PUT"])
    r.add("/price/<float:amount>", "price", view)
    r.add("/files/<path:name>", "files", view)
    r.add("/things/<uuid:id>", "thing", view)
    r.add("/code/<re('[a-z]{3}'):code>", "code", view)
    r.add("/hello/<name>", "hello", view)
    r.add("/docs/", "docs", view)
    r.add("/about", "about", view, ["GET", "POST"])
    return r


def test_static_and_converters(router):
    assert router.match("GET", "/")[0].endpoint == "index"
    assert router.match("GET", "/users/42") [1] == {"uid": 42}
    assert router.match("GET", "/price/9.5")[1] == {"amount": 9.5}
    assert router.match("GET", "/files/a/b/c.txt")[1] == {"name": "a/b/c.txt"}
    u = uuid.uuid4()
    assert router.match("GET", f"/things/{u}")[1] == {"id": u}
    assert router.match("GET", "/code/abc")[1] == {"code": "abc"}
    assert router.match("GET", "/hello/wörld")[1] == {"name": "wörld"}


def test_no_match_is_404(router):
    for path in ["/users/x", "/code/abcd", "/hello/a/b", "/things/not-a-uuid", "/nope"]:
        with pytest.raises(HTTPError) as info:
            router.match("GET", path)
        assert info.value.code == 404, path


def test_method_not_allowed_lists_allow(router):
    with pytest.raises(HTTPError) as info:
        router.match("DELETE", "/users/1")
    assert info.value.code == 405
    assert info.value.headers["Allow"] == "GET, HEAD, OPTIONS, PUT"


def test_two_rules_same_path_different_methods(router):
    assert router.match("PUT", "/users/1")[0].endpoint == "user_update"
    assert router.match("HEAD", "/users/1")[0].endpoint == "user"


def test_trailing_slash_redirects_like_flask(router):
    with pytest.raises(RequestRedirect) as info:
        router.match("GET", "/docs")
    assert info.value.new_path == "/docs/"
    with pytest.raises(HTTPError) as info:
        router.match("GET", "/about/")
    assert info.value.code == 404


def test_build(router):
    assert router.build("user", {"uid": 7}) == "/users/7"
    assert router.build("hello", {"name": "a b/c", "x": "1"}) == "/hello/a%20b%2Fc?x=1"
    assert router.build("files", {"name": "a/b c"}) == "/files/a/b%20c"
    assert router.build("index", {"_anchor": "top"}) == "/#top"
    with pytest.raises(LookupError):
        router.build("user", {})
    with pytest.raises(LookupError):
        router.build("nope", {})


def test_bad_rules_fail_early():
    r = Router()
    with pytest.raises(ValueError):
        r.add("no-slash", "x", view)
    with pytest.raises(ValueError):
        r.add("/<bogus:x>", "y", view)
    with pytest.raises(ValueError):
        r.add("/<a>/<a>", "z", view)
    r.add("/a", "same", view)
    with pytest.raises(ValueError):
        r.add("/b", "same", lambda request: None)
