"""The framework's app runs unchanged under real WSGI servers (and ours), and curl
talks to our server as it would to any."""

import contextlib
import os
import subprocess
import sys

from fromscratch.web.testing import free_port, wait_for_port

from .checks import check_app
from .conftest import require_tool

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_our_server(server):
    check_app(server.url)


@contextlib.contextmanager
def reference_server(tool: str, arguments: list[str]):
    """Run `tool` (a WSGI server installed next to this Python, or on PATH) serving the
    compat app on a free port; yields the base URL."""
    binary = _venv_tool(tool) or require_tool(tool)
    port = free_port()
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src") + os.pathsep + ROOT)
    command = [binary, *[a.format(port=port) for a in arguments], "compat_tests.web.apps:app"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def test_gunicorn_sync_workers():
    with reference_server("gunicorn", ["--workers", "2", "--worker-class", "sync",
                                       "--bind", "127.0.0.1:{port}"]) as url:
        check_app(url)


def test_waitress():
    with reference_server("waitress-serve", ["--listen=127.0.0.1:{port}"]) as url:
        check_app(url)


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
