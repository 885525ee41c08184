"""The same two endpoints in Flask."""

import flask

app = flask.Flask(__name__)


@app.get("/")
def hello():
    return "Hello, World!"


@app.get("/json")
def json_endpoint():
    return {"message": "Hello, World!"}
