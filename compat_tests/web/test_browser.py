"""The todo example as a person sees it: headless Chromium loads the page."""

import importlib
import subprocess
import urllib.parse
import urllib.request

import pytest

from fromscratch.web.testing import LiveServer

from .conftest import require_tool


def chromium(binary: str, profile, *args: str) -> str:
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
               "--virtual-time-budget=5000", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture
def todo_server():
    module = importlib.reload(importlib.import_module("examples.todo.app"))
    requested = []

    def recording_app(environ, start_response):
        requested.append(environ["PATH_INFO"])
        return module.app(environ, start_response)

    with LiveServer(recording_app) as server:
        server.requested = requested
        yield server


def test_todo_page_in_chromium(todo_server, tmp_path):
    binary = require_tool("chromium")
    # Add todos the way the page's form does: a urlencoded POST, then the redirect.
    for title in ("Buy milk", "Walk the dog"):
        data = urllib.parse.urlencode({"title": title}).encode()
        with urllib.request.urlopen(todo_server.url + "/add", data=data) as response:
            assert response.status == 200 and response.url.endswith("/")
    urllib.request.urlopen(urllib.request.Request(todo_server.url + "/toggle/2", data=b"")).close()

    dom = chromium(binary, tmp_path / "profile", "--dump-dom", todo_server.url + "/")
    assert "<title>Todo (2)</title>" in dom
    assert '<span class="title">Buy milk</span>' in dom
    assert '<li class="done">' in dom
    # The page's script fetched the JSON API and wrote the count into the page.
    assert '<p id="left">1 left</p>' in dom
    assert "/static/style.css" in todo_server.requested
    assert "/api/todos" in todo_server.requested

    screenshot = tmp_path / "todo.png"
    chromium(binary, tmp_path / "profile2", f"--screenshot={screenshot}", "--window-size=800,600",
             "--hide-scrollbars", todo_server.url + "/")
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 5000
