"""The framework's app runs unchanged under real WSGI servers (and ours), and curl
talks to our server as it would to any."""

import os
import subprocess
import sys
import threading

import pytest

from fromscratch.web.testing import free_port, wait_for_port

from .apps import make_app
from .checks import check_app
from .conftest import require_tool

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_our_server(server):
    check_app(server.url)


def test_gunicorn_sync_workers():
    gunicorn = _venv_tool("gunicorn") or require_tool("gunicorn")
    port = free_port()
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src") + os.pathsep + ROOT)
    process = subprocess.Popen(
        [gunicorn, "--workers", "2", "--worker-class", "sync", "--bind", f"127.0.0.1:{port}",
         "--chdir", ROOT, "compat_tests.web.apps:app"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process)
        check_app(f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        process.wait(10)


def test_waitress():
    try:
        import waitress
    except ImportError:
        if os.environ.get("FROMSCRATCH_REQUIRE_REFERENCE") == "1":
            pytest.fail("waitress is not installed (FROMSCRATCH_REQUIRE_REFERENCE=1)")
        pytest.skip("waitress is not installed")
    server = waitress.create_server(make_app(), host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        check_app(f"http://127.0.0.1:{server.effective_port}")
    finally:
        server.close()
        thread.join(5)


def test_curl(server):
    curl = require_tool("curl")
    url = server.url
    # Two URLs in one curl call share a kept-alive connection.
    result = subprocess.run([curl, "-sS", "-v", f"{url}/", f"{url}/json"],
                            capture_output=True, text=True, timeout=30)
    assert result.stdout.startswith("Hello, World!") and '"message":"Hello, World!"' in result.stdout
    assert "Re-using existing connection" in result.stderr or "Reusing existing" in result.stderr
    # A chunked upload and a 100-continue upload.
    result = subprocess.run([curl, "-sS", "-H", "Transfer-Encoding: chunked", "--data-binary",
                             "chunky", f"{url}/echo"], capture_output=True, text=True, timeout=30)
    assert '"body":"chunky"' in result.stdout
    big = "x" * 2_000_000
    result = subprocess.run([curl, "-sS", "-H", "Expect: 100-continue", "--data-binary", "@-",
                             f"{url}/echo"], input=big, capture_output=True, text=True, timeout=30)
    assert '"length":2000000' in result.stdout


def _venv_tool(name: str) -> str | None:
    """A tool installed next to this Python (the project's .venv), if there is one."""
    path = os.path.join(os.path.dirname(sys.executable), name)
    return path if os.path.exists(path) else None
