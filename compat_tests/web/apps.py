"""The app the compat tests serve: one route per behaviour they check."""

import os
import threading
import time

from fromscratch.web import App

HERE = os.path.dirname(os.path.abspath(__file__))


def make_app():
    app = App(root_path=HERE, static_folder="static", secret_key="compat-secret")
    app.release = threading.Event()          # lets a test hold a view open
    app.entered = threading.Event()

    @app.get("/")
    def index(request):
        return "Hello, World!"

    @app.get("/json")
    def json_view(request):
        return {"message": "Hello, World!", "args": request.args.to_dict()}

    @app.route("/echo", methods=["POST", "PUT"])
    def echo(request):
        return {"body": request.body.decode("latin-1"), "length": request.content_length,
                "content_type": request.content_type}

    @app.post("/form")
    def form(request):
        upload = request.files.get("file")
        return {"form": request.form.to_dict(),
                "file": upload and {"name": upload.filename, "data": upload.read().decode()}}

    @app.get("/stream")
    def stream(request):
        count = request.args.get("n", 3, type=int)
        return (f"chunk {i}\n" for i in range(count))

    @app.get("/big")
    def big(request):
        size = request.args.get("mb", 8, type=int)
        block = b"x" * (1024 * 1024)
        return (block for _ in range(size))

    @app.get("/hold")
    def hold(request):
        app.entered.set()
        app.release.wait(10)
        return "released"

    @app.get("/sleep")
    def sleep(request):
        time.sleep(request.args.get("s", 0.5, type=float))
        return "slept"

    @app.get("/peer")
    def peer(request):
        return {"port": request.environ["REMOTE_PORT"], "path": request.path,
                "query": request.query_string}

    @app.get("/count")
    def count(request):
        request.session["n"] = request.session.get("n", 0) + 1
        return {"n": request.session["n"]}

    @app.get("/boom")
    def boom(request):
        raise RuntimeError("boom")

    return app


app = make_app()
