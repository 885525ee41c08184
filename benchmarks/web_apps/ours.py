"""Hello-world and JSON endpoints in fromscratch.web (the benchmark's subject)."""

from fromscratch.web import App

app = App(static_folder=None)


@app.get("/")
def hello(request):
    return "Hello, World!"


@app.get("/json")
def json_endpoint(request):
    return {"message": "Hello, World!"}
