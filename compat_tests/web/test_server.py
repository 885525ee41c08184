"""Our HTTP/1.1 server through real clients: http.client, urllib and raw sockets."""

import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

from fromscratch.web.testing import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def connect(server, timeout=10):
    return socket.create_connection(("127.0.0.1", server.port), timeout=timeout)


def read_until_closed(sock) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def read_response(sock_file):
    """One response from a socket file: (status line, headers dict, body)."""
    status = sock_file.readline().decode().strip()
    headers = {}
    while (line := sock_file.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    body = b""
    if "content-length" in headers:
        body = sock_file.read(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while (size := int(sock_file.readline().split(b";")[0], 16)) != 0:
            body += sock_file.read(size)
            sock_file.readline()
        sock_file.readline()
    return status, headers, body


def test_urllib_get_and_post(server):
    with urllib.request.urlopen(server.url + "/json?x=1") as response:
        assert response.status == 200
        assert json.load(response) == {"message": "Hello, World!", "args": {"x": "1"}}
    request = urllib.request.Request(server.url + "/echo", data=b'{"a": 1}',
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        assert json.load(response)["body"] == '{"a": 1}'
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(server.url + "/missing")
    assert info.value.code == 404
    info.value.close()


def test_keep_alive_reuses_the_connection(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    ports = set()
    for _ in range(5):
        conn.request("GET", "/peer")
        response = conn.getresponse()
        ports.add(json.loads(response.read())["port"])
    assert len(ports) == 1
    conn.close()


def test_pipelined_requests_answered_in_order(server):
    with connect(server) as sock:
        sock.sendall(b"GET /sleep?s=0.2 HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /peer?second HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nthird"
                     b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        f = sock.makefile("rb")
        bodies = [read_response(f)[2] for _ in range(4)]
    assert bodies[0] == b"slept"
    assert json.loads(bodies[1])["query"] == "second"
    assert json.loads(bodies[2])["body"] == "third"
    assert bodies[3] == b"Hello, World!"


def test_chunked_request_body(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("POST", "/echo", body=iter([b"hello ", b"chunked ", b"world"]),
                 encode_chunked=True, headers={"Content-Type": "text/plain"})
    result = json.loads(conn.getresponse().read())
    conn.close()
    assert result == {"body": "hello chunked world", "length": 19, "content_type": "text/plain"}


def test_chunked_response(server):
    with connect(server) as sock:
        sock.sendall(b"GET /stream?n=4 HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, body = read_response(sock.makefile("rb"))
    assert headers["transfer-encoding"] == "chunked" and "content-length" not in headers
    assert body == b"chunk 0\nchunk 1\nchunk 2\nchunk 3\n"


def test_http10_gets_a_close_delimited_stream(server):
    with connect(server) as sock:
        sock.sendall(b"GET /stream HTTP/1.0\r\n\r\n")
        data = read_until_closed(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and b"chunked" not in head
    assert b"Connection: close" in head and body == b"chunk 0\nchunk 1\nchunk 2\n"


def test_http10_keep_alive(server):
    with connect(server) as sock:
        sock.sendall(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        f = sock.makefile("rb")
        status, headers, body = read_response(f)
        assert headers["connection"] == "keep-alive" and body == b"Hello, World!"
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert read_response(f)[2] == b"Hello, World!"
        assert f.read() == b""


def test_expect_100_continue(server):
    with connect(server) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        f = sock.makefile("rb")
        assert f.readline() == b"HTTP/1.1 100 Continue\r\n" and f.readline() == b"\r\n"
        sock.sendall(b"data")
        status, _, body = read_response(f)
    assert status == "HTTP/1.1 200 OK" and json.loads(body)["body"] == "data"


def test_too_large_body_refused_before_reading(live):
    server = live(max_body_size=1000)
    with connect(server) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        data = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 413 ") and b"100 Continue" not in data
    # A chunked body is cut off as soon as it grows past the limit.
    with connect(server) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     + (b"100\r\n" + b"z" * 256 + b"\r\n") * 5)
        assert read_until_closed(sock).startswith(b"HTTP/1.1 413 ")


def test_connection_close(server):
    with connect(server) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                     b"GET /ignored HTTP/1.1\r\nHost: x\r\n\r\n")
        data = read_until_closed(sock)
    assert data.count(b"HTTP/1.1 ") == 1 and b"Connection: close" in data


def test_client_half_close_still_gets_its_answer(server):
    with connect(server) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.shutdown(socket.SHUT_WR)
        assert read_until_closed(sock).endswith(b"Hello, World!")


@pytest.mark.parametrize("request_bytes, status", [
    (b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 70000 + b"\r\n\r\n", 431),
    (b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(150)) + b"\r\n", 431),
    (b"BLAH\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n\r\n", 400),
    (b"GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40 + b"\r\n\r\n", 400),   # TLS hello
])
def test_malformed_input_gets_a_clear_4xx(server, request_bytes, status):
    with connect(server) as sock:
        sock.sendall(request_bytes)
        data = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 %d " % status), data[:80]
    assert b"Connection: close" in data
    with urllib.request.urlopen(server.url + "/") as response:   # and the server carries on
        assert response.read() == b"Hello, World!"


def test_random_garbage_never_kills_the_server(server):
    rng = random.Random(7)
    for _ in range(30):
        with connect(server) as sock:
            sock.sendall(bytes(rng.randrange(256) for _ in range(rng.randint(1, 300))) + b"\r\n\r\n")
            sock.shutdown(socket.SHUT_WR)
            data = read_until_closed(sock)
        assert data == b"" or data.startswith(b"HTTP/1.1 4") or data.startswith(b"HTTP/1.1 5")
    with urllib.request.urlopen(server.url + "/") as response:
        assert response.status == 200


def test_slowloris_head_times_out(live):
    server = live(header_timeout=0.3)
    with connect(server) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")      # and never finish the head
        assert read_until_closed(sock).startswith(b"HTTP/1.1 408 ")


def test_stalled_body_times_out(live):
    server = live(body_timeout=0.3)
    with connect(server) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly a part")
        assert read_until_closed(sock).startswith(b"HTTP/1.1 408 ")


def test_idle_keep_alive_connection_is_closed(live):
    server = live(keepalive_timeout=0.3)
    with connect(server) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        data = read_until_closed(sock)                    # returns once the server closes
    assert data.startswith(b"HTTP/1.1 200 ") and data.count(b"HTTP/1.1") == 1


def test_connection_limit(live):
    server = live(max_connections=2)
    held = [connect(server), connect(server)]
    try:
        for sock in held:          # make sure both are admitted before the third comes
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            read_response(sock.makefile("rb"))
        with connect(server) as third:
            assert read_until_closed(third).startswith(b"HTTP/1.1 503 ")
    finally:
        for sock in held:
            sock.close()


def test_slow_view_does_not_stall_others(live):
    from compat_tests.web.apps import make_app
    app = make_app()
    server = live(app)
    results = {}

    def slow():
        with urllib.request.urlopen(server.url + "/hold", timeout=10) as response:
            results["slow"] = response.read()
    thread = threading.Thread(target=slow)
    thread.start()
    assert app.entered.wait(10)
    with urllib.request.urlopen(server.url + "/", timeout=10) as response:   # while /hold waits
        results["fast"] = response.read()
    assert "slow" not in results
    app.release.set()
    thread.join(10)
    assert results == {"fast": b"Hello, World!", "slow": b"released"}


def test_large_streamed_response_and_early_disconnect(server):
    with urllib.request.urlopen(server.url + "/big?mb=16") as response:
        total = 0
        while chunk := response.read(1 << 20):
            total += len(chunk)
    assert total == 16 * 1024 * 1024
    # A client that leaves in the middle of a big response does not hurt the server.
    with connect(server) as sock:
        sock.sendall(b"GET /big?mb=64 HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.recv(1000)
    with urllib.request.urlopen(server.url + "/") as response:
        assert response.read() == b"Hello, World!"


def test_app_errors_become_500(live):
    def broken_app(environ, start_response):
        raise RuntimeError("broken")
    server = live(broken_app)
    with connect(server) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_until_closed(sock).startswith(b"HTTP/1.1 500 ")


def test_wsgi_write_callable_and_exc_info(live):
    def app(environ, start_response):
        if environ["PATH_INFO"] == "/write":
            write = start_response("200 OK", [("Content-Type", "text/plain")])
            write(b"written, ")
            return [b"then returned"]
        try:
            raise ValueError("late")
        except ValueError:
            import sys
            start_response("200 OK", [("Content-Type", "text/plain")])
            # Nothing sent yet: the app may still change its mind (PEP 3333).
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")],
                           sys.exc_info())
            return [b"changed"]
    server = live(app)
    with connect(server) as sock:
        sock.sendall(b"GET /write HTTP/1.1\r\nHost: x\r\n\r\nGET /exc HTTP/1.1\r\nHost: x\r\n\r\n")
        f = sock.makefile("rb")
        assert read_response(f)[2] == b"written, then returned"
        status, _, body = read_response(f)
    assert status == "HTTP/1.1 500 Internal Server Error" and body == b"changed"


def test_failure_mid_stream_cuts_the_connection(live):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"first part"
        raise RuntimeError("in the middle")
    server = live(app)
    with connect(server) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        data = read_until_closed(sock)
    # Chunked, and without the last chunk: the client can tell the body is incomplete.
    assert data.startswith(b"HTTP/1.1 200 ") and b"first part" in data
    assert not data.endswith(b"0\r\n\r\n")


def test_short_body_closes_the_connection(live):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "100")])
        return iter([b"only ten b"])
    server = live(app)
    with connect(server) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        data = read_until_closed(sock)            # returns because the server closes
    assert data.endswith(b"only ten b")


def test_header_injection_by_the_app_is_refused(live):
    def injecting_app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Name", "a\r\nSet-Cookie: evil=1")])
        return [b"x"]
    server = live(injecting_app)
    with connect(server) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        data = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 500 ") and b"evil" not in data


def test_absolute_form_target_and_encoded_path(server):
    with connect(server) as sock:
        sock.sendall(b"GET http://example.com/peer?q=1 HTTP/1.1\r\nHost: example.com\r\n"
                     b"Connection: close\r\n\r\n")
        body = read_until_closed(sock).partition(b"\r\n\r\n")[2]
    assert json.loads(body)["query"] == "q=1"
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(server.url + "/static/%2e%2e/apps.py")
    assert info.value.code == 404
    info.value.close()


def test_sessions_over_the_wire(server):
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    counts = []
    for _ in range(3):
        with opener.open(server.url + "/count") as response:
            counts.append(json.load(response)["n"])
    assert counts == [1, 2, 3]


@pytest.mark.parametrize("how, signum", [("cli", signal.SIGTERM), ("app.run", signal.SIGINT)])
def test_serves_and_shuts_down_gracefully(how, signum):
    """`python -m fromscratch.web.cli module:app` and `app.run()`: log when ready, and on
    SIGTERM/SIGINT finish the request in flight before exiting."""
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src") + os.pathsep + ROOT)
    port = free_port()
    if how == "cli":
        command = [sys.executable, "-m", "fromscratch.web.cli", "compat_tests.web.apps:app",
                   "--port", str(port)]
    else:
        command = [sys.executable, "-c",
                   f"from compat_tests.web.apps import app; app.run(port={port})"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        ready = process.stderr.readline()
        assert "ready to accept connections" in ready and str(port) in ready
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/sleep?s=1")
        threading.Timer(0.3, process.send_signal, [signum]).start()
        response = conn.getresponse()
        assert response.status == 200 and response.read() == b"slept"
        assert response.getheader("Connection") == "close"
        assert process.wait(10) == 0
        assert '"GET /sleep?s=1 HTTP/1.1" 200 5' in process.stderr.read()
        conn.close()
    finally:
        process.kill()
        process.wait()
        process.stderr.close()


def test_cli_reports_a_taken_port_and_a_bad_app():
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src") + os.pathsep + ROOT)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "fromscratch.web", "compat_tests.web.apps:app",
                                 "--port", str(port)], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=30)
    assert result.returncode == 1 and "cannot listen on" in result.stderr
    assert "Traceback" not in result.stderr
    result = subprocess.run([sys.executable, "-m", "fromscratch.web", "no_such_module:app"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "cannot load no_such_module:app" in result.stderr
