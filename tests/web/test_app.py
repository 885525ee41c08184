import logging

import pytest

from fromscratch.web import App, Blueprint, Response, abort, redirect


@pytest.fixture
def app(tmp_path):
    app = App(root_path=str(tmp_path), secret_key="test-secret")

    @app.get("/users/<int:uid>")
    def user(request, uid):
        return {"uid": uid, "q": request.args.get("q")}

    @app.post("/items")
    def create(request):
        return {"got": request.json}, 201

    @app.route("/multi", methods=["GET", "POST"])
    def multi(request):
        return request.method

    @app.put("/put")
    def put(request):
        return "put", 200, {"X-Extra": "1"}

    @app.patch("/patch")
    def patch(request):
        return Response("patched", 202, content_type="text/plain")

    @app.delete("/gone")
    def gone(request):
        return "", 204

    @app.get("/list")
    def as_list(request):
        return [1, 2, 3]

    @app.get("/bytes")
    def as_bytes(request):
        return b"\x00\x01"

    @app.get("/headers-only")
    def headers_only(request):
        return "x", {"X-Two": "2"}

    @app.get("/abort")
    def do_abort(request):
        abort(403, "no entry")

    @app.get("/boom")
    def boom(request):
        raise RuntimeError("secret detail")

    @app.get("/none")
    def returns_none(request):
        return None

    @app.get("/go")
    def go(request):
        return redirect(app.url_for("user", uid=3))

    @app.get("/stream")
    def stream(request):
        return (f"line {i}\n" for i in range(3))

    @app.get("/count")
    def count(request):
        request.session["n"] = request.session.get("n", 0) + 1
        return str(request.session["n"])

    @app.get("/logout")
    def logout(request):
        request.session.clear()
        return "bye"

    @app.get("/docs/")
    def docs(request):
        return "docs"

    return app


@pytest.fixture
def client(app):
    return app.test_client()


def test_the_issue_example(client):
    r = client.get("/users/1?q=x")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json == {"uid": 1, "q": "x"}
    r = client.post("/items", json={"a": 1})
    assert (r.status_code, r.json) == (201, {"got": {"a": 1}})


def test_return_value_shapes(client):
    assert client.put("/put").headers["X-Extra"] == "1"
    r = client.patch("/patch")
    assert (r.status_code, r.text, r.headers["Content-Type"]) == (202, "patched", "text/plain")
    r = client.delete("/gone")
    assert r.status_code == 204 and r.data == b"" and "Content-Type" not in r.headers
    assert client.get("/list").json == [1, 2, 3]
    assert client.get("/bytes").data == b"\x00\x01"
    r = client.get("/headers-only")
    assert r.status_code == 200 and r.headers["X-Two"] == "2"
    assert client.get("/stream").text == "line 0\nline 1\nline 2\n"
    assert client.get("/multi").text == "GET" and client.post("/multi").text == "POST"


def test_head_and_options_are_automatic(client):
    r = client.head("/users/5")
    assert r.status_code == 200 and r.data == b""
    assert int(r.headers["Content-Length"]) == len(client.get("/users/5").data)
    r = client.options("/multi")
    assert r.status_code == 200
    assert r.headers["Allow"] == "GET, HEAD, OPTIONS, POST"


def test_404_405_and_trailing_slash(client):
    r = client.get("/nope")
    assert r.status_code == 404 and "Not Found" in r.text
    r = client.post("/users/1")
    assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD, OPTIONS"
    r = client.get("/docs?x=1")
    assert r.status_code == 308 and r.location == "/docs/?x=1"
    assert client.get("/docs", follow_redirects=True).text == "docs"


def test_errors(client, app, caplog):
    r = client.get("/abort")
    assert r.status_code == 403 and "no entry" in r.text
    with caplog.at_level(logging.ERROR, logger="fromscratch.web"):
        r = client.get("/boom")
    assert r.status_code == 500
    assert "secret detail" not in r.text and "Traceback" not in r.text
    assert "secret detail" in caplog.text
    assert client.get("/none").status_code == 500
    app.debug = True
    r = client.get("/boom")
    assert "Traceback" in r.text and "secret detail" in r.text


def test_json_error_page_for_json_clients(client):
    r = client.get("/nope", headers={"Accept": "application/json"})
    assert r.status_code == 404 and r.json["error"] == "Not Found"


def test_error_handlers_by_code_and_class(app, client, caplog):
    @app.errorhandler(404)
    def not_found(request, error):
        return {"error": "not found", "path": request.path}, 404

    @app.errorhandler(RuntimeError)
    def runtime(request, error):
        return f"handled {error}", 500

    @app.errorhandler(500)
    def internal(request, error):
        return "five hundred", 500

    @app.get("/key")
    def key(request):
        return {}["missing"]

    assert client.get("/nope").json == {"error": "not found", "path": "/nope"}
    with caplog.at_level(logging.ERROR, logger="fromscratch.web"):
        assert client.get("/boom").text == "handled secret detail"
    assert "unhandled" not in caplog.text            # it had a handler
    r = client.get("/key")
    assert r.status_code == 500 and r.text == "five hundred"


def test_failing_error_handler_gives_plain_500(app, client):
    @app.errorhandler(403)
    def broken(request, error):
        raise ValueError("oops")

    assert client.get("/abort").status_code == 500


def test_hooks_order_and_short_circuit(app, client):
    calls = []

    @app.before_request
    def first(request):
        calls.append("before")
        if request.args.get("deny"):
            return "denied", 401

    @app.after_request
    def stamp(request, response):
        calls.append("after")
        response.headers["X-App"] = "fs"
        return response

    @app.teardown_request
    def teardown(request, error):
        calls.append(("teardown", type(error).__name__ if error else None))

    r = client.get("/users/1")
    assert r.headers["X-App"] == "fs"
    assert calls == ["before", "after", ("teardown", None)]
    calls.clear()
    r = client.get("/users/1?deny=1")
    assert (r.status_code, r.text, r.headers["X-App"]) == (401, "denied", "fs")
    calls.clear()
    client.get("/boom")
    assert calls[-1] == ("teardown", "RuntimeError")


def test_blueprint_prefix_hooks_and_handlers(app, client):
    api = Blueprint("api", url_prefix="/api")
    seen = []

    @api.before_request
    def only_api(request):
        seen.append(request.path)

    @api.get("/things/<int:n>")
    def thing(request, n):
        if n == 0:
            abort(404)
        return {"n": n, "endpoint": request.endpoint}

    @api.errorhandler(404)
    def api_404(request, error):
        return {"api_error": 404}, 404

    app.register_blueprint(api)
    assert client.get("/api/things/2").json == {"n": 2, "endpoint": "api.thing"}
    assert client.get("/api/things/0").json == {"api_error": 404}
    client.get("/users/1")
    assert seen == ["/api/things/2", "/api/things/0"]
    assert app.url_for("api.thing", n=5) == "/api/things/5"
    with pytest.raises(ValueError):
        app.register_blueprint(api)


def test_closing_hooks_unwind_blueprint_first(app, client):
    api = Blueprint("inner", url_prefix="/inner")
    order = []

    @api.get("/")
    def inner(request):
        return "x"

    for owner, name in [(app, "app1"), (app, "app2"), (api, "bp1"), (api, "bp2")]:
        owner.after_request(lambda request, response, name=name: order.append(name) or response)
        owner.teardown_request(lambda request, error, name=name: order.append("t-" + name))
    app.register_blueprint(api)
    client.get("/inner/")
    assert order == ["bp2", "bp1", "app2", "app1", "t-bp2", "t-bp1", "t-app2", "t-app1"]


def test_url_for_and_redirect(client):
    r = client.get("/go")
    assert r.status_code == 302 and r.location == "/users/3"
    assert client.get("/go", follow_redirects=True).json["uid"] == 3


def test_request_url_for_external(app, client):
    @app.get("/where")
    def where(request):
        return request.url_for("user", uid=1, _external=True)

    assert client.get("/where", headers={"Host": "example.org:8080"}).text == \
        "http://example.org:8080/users/1"


def test_session_roundtrip_and_tamper(client):
    assert client.get("/count").text == "1"
    assert client.get("/count").text == "2"
    cookie = client.get_cookie("session")
    assert "HttpOnly" in client.get("/count").headers["Set-Cookie"]
    payload, stamp, signature = cookie.split(".")
    client.cookies["session"] = "eyJuIjo5OX0." + stamp + "." + signature   # {"n":99}
    assert client.get("/count").text == "1"
    for forged in ["garbage", "a.b.c", "é.é.é", '"quoted\\303\\251"', "...", payload]:
        client.cookies["session"] = forged
        assert client.get("/count").text == "1", forged
    r = client.get("/logout")
    assert "Max-Age=0" in r.headers["Set-Cookie"]
    assert "session" not in client.cookies


def test_session_needs_secret_key(tmp_path):
    app = App(root_path=str(tmp_path))

    @app.get("/")
    def index(request):
        request.session["x"] = 1
        return "ok"

    assert app.test_client().get("/").status_code == 500


def test_unchanged_session_sends_no_cookie(client):
    client.get("/count")
    r = client.get("/users/1")
    assert "Set-Cookie" not in r.headers


def test_config_from_mapping_object_env(monkeypatch, tmp_path):
    app = App(root_path=str(tmp_path))
    app.config.from_mapping({"DEBUG": True, "lower": 1})
    assert app.debug is True and "lower" not in app.config

    class Settings:
        MAX_CONTENT_LENGTH = 10
        private = 1
    app.config.from_object(Settings)
    assert app.config["MAX_CONTENT_LENGTH"] == 10 and "private" not in app.config
    monkeypatch.setenv("FROMSCRATCH_WEB_SECRET_KEY", "from-env")
    monkeypatch.setenv("FROMSCRATCH_WEB_MAX_CONTENT_LENGTH", "2048")
    app.config.from_env()
    assert app.secret_key == "from-env" and app.config["MAX_CONTENT_LENGTH"] == 2048


def test_max_content_length_gives_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 10
    r = client.post("/items", json={"long": "x" * 100})
    assert r.status_code == 413


def test_view_receives_request_explicitly(app):
    # A view is a plain function: callable without the framework.
    class FakeRequest:
        args = {"q": "z"}
    assert app.router.match("GET", "/users/9")[0].view(FakeRequest(), uid=9) == {"uid": 9, "q": "z"}


def test_templates_through_app(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text(
        "<h1>{{ title }}</h1><a href=\"{{ url_for('index') }}\">home</a>")
    app = App(root_path=str(tmp_path))

    @app.get("/")
    def index(request):
        return app.render("page.html", title="<Hi & bye>")

    r = app.test_client().get("/")
    assert r.text == '<h1>&lt;Hi &amp; bye&gt;</h1><a href="/">home</a>'
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"


def test_root_path_defaults_to_the_callers_folder():
    import os
    assert App().root_path == os.path.dirname(os.path.abspath(__file__))
