"""The same two endpoints in Bottle."""

import bottle

app = bottle.Bottle()


@app.get("/")
def hello():
    return "Hello, World!"


@app.get("/json")
def json_endpoint():
    return {"message": "Hello, World!"}
