"""fromscratch.web against Bottle and Flask: the same hello-world and JSON endpoints.

Three measurements, each printed as one line per case with the figures and ratios:

1. in-process: the WSGI callable called in a loop with a fresh environ each time, no
   server and no sockets: the framework's own cost per request;
2. wrk against gunicorn (sync worker class, 2 workers) serving each framework's app;
3. our app on our own HTTP/1.1 server against the same app under gunicorn.

Every case runs several times and the median is printed (the machine is small and
shared). Usage: `python benchmarks/web_bench.py [--runs N] [--duration S] [--quick]`.
The apps are in benchmarks/web_apps/.
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
APPS = os.path.join(HERE, "web_apps")
sys.path[:0] = [APPS, os.path.join(ROOT, "src")]

from fromscratch.web.testing import free_port, wait_for_port  # noqa: E402  (path set above)

FRAMEWORKS = [("ours", "ours"), ("bottle", "bottle_app"), ("flask", "flask_app")]
ENDPOINTS = [("hello", "/"), ("json", "/json")]

BASE_ENVIRON = {
    "REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "QUERY_STRING": "",
    "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "40000", "HTTP_HOST": "127.0.0.1:8000",
    "HTTP_USER_AGENT": "web_bench", "HTTP_ACCEPT": "*/*",
    "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
    "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False,
}


def load_apps() -> dict:
    apps = {}
    for name, module in FRAMEWORKS:
        try:
            apps[name] = importlib.import_module(module).app
        except ImportError as error:
            print(f"# {name}: not installed ({error}); its cases are skipped")
    return apps


def _start_response(status, headers, exc_info=None):
    return None


def calls_per_second(app, path: str, calls: int) -> float:
    """Call the WSGI app `calls` times, each with a fresh environ, as a server would."""
    started = time.perf_counter()
    for _ in range(calls):
        environ = dict(BASE_ENVIRON)
        environ["PATH_INFO"] = path
        environ["wsgi.input"] = io.BytesIO()
        body = app(environ, _start_response)
        for _chunk in body:
            pass
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return calls / (time.perf_counter() - started)


def fmt(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:,.0f}/s"


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def in_process(apps: dict, runs: int, calls: int) -> None:
    for endpoint, path in ENDPOINTS:
        samples: dict[str, list[float]] = {name: [] for name in apps}
        for name, app in apps.items():
            calls_per_second(app, path, calls // 10)           # warm up
        for _ in range(runs):           # round-robin, so drift on a busy machine hits all alike
            for name, app in apps.items():
                samples[name].append(calls_per_second(app, path, calls))
        report("in-process", endpoint, {name: statistics.median(s) for name, s in samples.items()})


def report(kind: str, endpoint: str, rates: dict[str, float]) -> None:
    print(f"{kind:14} {endpoint:5}  ours {fmt(rates.get('ours'))}  "
          f"bottle {fmt(rates.get('bottle'))}  flask {fmt(rates.get('flask'))}  "
          f"ours/bottle {ratio(rates.get('ours'), rates.get('bottle'))}  "
          f"ours/flask {ratio(rates.get('ours'), rates.get('flask'))}")


# -- over the network ----------------------------------------------------------------------

def start_server(command: list[str], port: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([APPS, os.path.join(ROOT, "src")]))
    process = subprocess.Popen(command, cwd=APPS, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    wait_for_port(port, process)
    return process


def wrk(url: str, duration: float, connections: int) -> float:
    result = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}s", url],
                            capture_output=True, text=True, timeout=duration + 60)
    match = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    if not match:
        raise RuntimeError(f"unexpected wrk output: {result.stdout}{result.stderr}")
    if re.search(r"Non-2xx or 3xx responses", result.stdout):
        raise RuntimeError(f"errors from {url}: {result.stdout}")
    return float(match.group(1))


def measure_servers(commands: dict[str, tuple[list[str], int]], runs: int, duration: float,
                    connections: int) -> dict[str, dict[str, float]]:
    """Start every server, then run wrk against them round-robin; medians per case."""
    processes = [start_server(command, port) for command, port in commands.values()]
    try:
        samples: dict[tuple[str, str], list[float]] = {}
        for name, (_command, port) in commands.items():
            wrk(f"http://127.0.0.1:{port}/", 1, connections)                 # warm up
        for _ in range(runs):
            for name, (_command, port) in commands.items():
                for endpoint, path in ENDPOINTS:
                    rate = wrk(f"http://127.0.0.1:{port}{path}", duration, connections)
                    samples.setdefault((name, endpoint), []).append(rate)
        results: dict[str, dict[str, float]] = {}
        for (name, endpoint), values in samples.items():
            results.setdefault(name, {})[endpoint] = statistics.median(values)
        return results
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)


def gunicorn_command(module: str, port: int) -> list[str]:
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    if not os.path.exists(gunicorn):
        gunicorn = shutil.which("gunicorn") or "gunicorn"
    return [gunicorn, "--workers", "2", "--worker-class", "sync", "--bind", f"127.0.0.1:{port}",
            "--log-level", "warning", f"{module}:app"]


def over_the_network(apps: dict, runs: int, duration: float, connections: int) -> None:
    if shutil.which("wrk") is None:
        print("# wrk is not installed: network cases skipped")
        return
    commands = {}
    for name, module in FRAMEWORKS:
        if name in apps:
            port = free_port()
            commands[name] = (gunicorn_command(module, port), port)
    port = free_port()
    commands["own"] = ([sys.executable, "-m", "fromscratch.web.cli", "ours:app", "--port",
                        str(port), "--no-access-log"], port)
    results = measure_servers(commands, runs, duration, connections)
    for endpoint, _path in ENDPOINTS:
        report("gunicorn+wrk", endpoint,
               {name: r[endpoint] for name, r in results.items() if name != "own"})
    for endpoint, _path in ENDPOINTS:
        own = results["own"][endpoint]
        on_gunicorn = results.get("ours", {}).get(endpoint)
        print(f"own server     {endpoint:5}  ours on fromscratch.web {fmt(own)}  "
              f"ours on gunicorn {fmt(on_gunicorn)}  own/gunicorn {ratio(own, on_gunicorn)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="repetitions per case (median)")
    parser.add_argument("--calls", type=int, default=50_000, help="WSGI calls per in-process run")
    parser.add_argument("--duration", type=float, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=10, help="wrk connections")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter runs")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.calls, args.duration = 3, 10_000, 2
    apps = load_apps()
    print(f"# medians of {args.runs} runs; wrk -t2 -c{args.connections} -d{args.duration}s; "
          f"gunicorn: sync worker class, 2 workers; {os.cpu_count()} CPUs")
    in_process(apps, args.runs, args.calls)
    over_the_network(apps, args.runs, args.duration, args.connections)
    return 0


if __name__ == "__main__":
    sys.exit(main())
