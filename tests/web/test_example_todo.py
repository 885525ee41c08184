"""The todo example, through the test client."""

import importlib

import pytest


@pytest.fixture
def client():
    module = importlib.import_module("examples.todo.app")
    module = importlib.reload(module)               # a fresh, empty list for each test
    return module.app.test_client()


def test_pages_form_and_session(client):
    r = client.get("/")
    assert r.status_code == 200 and "Nothing to do." in r.text
    r = client.post("/add", data={"title": "Write <tests>"})
    assert (r.status_code, r.location) == (303, "/")
    page = client.get("/").text
    assert "Write &lt;tests&gt;" in page and "You added 1 todo in this session." in page
    assert client.post("/toggle/1").status_code == 303
    assert 'class="done"' in client.get("/").text
    assert client.post("/remove/1").status_code == 303
    assert client.post("/remove/1").status_code == 404
    assert client.post("/add", data={}).status_code == 400


def test_json_api(client):
    r = client.post("/api/todos", json={"title": "via API"})
    assert r.status_code == 201 and r.json == {"id": 1, "title": "via API", "done": False}
    assert client.patch("/api/todos/1", json={"done": True}).json["done"] is True
    assert client.get("/api/todos").json == [{"id": 1, "title": "via API", "done": True}]
    assert client.post("/api/todos", json={}).json == {"error": "a todo needs a title"}
    assert client.delete("/api/todos/1").status_code == 204
    r = client.delete("/api/todos/1")
    assert (r.status_code, r.json) == (404, {"error": "no todo 1"})


def test_static_css(client):
    r = client.get("/static/style.css")
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/css; charset=utf-8"
