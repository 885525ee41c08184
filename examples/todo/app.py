"""A todo list: HTML pages with a form, a JSON API, static CSS, and a session.

Run it from the repository root:

    PYTHONPATH=src python3 examples/todo/app.py           # http://127.0.0.1:8000
    PYTHONPATH=src python3 -m fromscratch.web examples.todo.app:app

What to look at:

* `index` renders a template; `add`, `toggle` and `remove` take form posts and
  redirect back (POST/redirect/GET, so reloading the page does not post twice);
* the `api` blueprint is the same list as JSON, under /api;
* the page's script calls the JSON API to show how many todos are left;
* the session remembers how many todos *you* added.
"""

import threading

from fromscratch.web import App, Blueprint, abort, redirect

app = App(secret_key="change me in production")


class TodoList:
    """The todos, in memory. Views run in several threads at once: hence the lock."""

    def __init__(self):
        self._lock = threading.Lock()
        self._todos: dict[int, dict] = {}
        self._next_id = 1

    def all(self) -> list[dict]:
        with self._lock:
            return [dict(todo) for todo in self._todos.values()]

    def get(self, todo_id: int) -> dict:
        with self._lock:
            if todo_id not in self._todos:
                abort(404, f"no todo {todo_id}")
            return dict(self._todos[todo_id])

    def add(self, title: str) -> dict:
        title = title.strip()
        if not title:
            abort(400, "a todo needs a title")
        with self._lock:
            todo = {"id": self._next_id, "title": title[:200], "done": False}
            self._todos[todo["id"]] = todo
            self._next_id += 1
            return dict(todo)

    def update(self, todo_id: int, **changes) -> dict:
        with self._lock:
            if todo_id not in self._todos:
                abort(404, f"no todo {todo_id}")
            self._todos[todo_id].update(changes)
            return dict(self._todos[todo_id])

    def remove(self, todo_id: int) -> None:
        with self._lock:
            if self._todos.pop(todo_id, None) is None:
                abort(404, f"no todo {todo_id}")


todos = TodoList()


# -- HTML pages ----------------------------------------------------------------------

@app.get("/")
def index(request):
    return app.render("index.html", todos=todos.all(),
                      added=request.session.get("added", 0))


@app.post("/add")
def add(request):
    todos.add(request.form["title"])
    request.session["added"] = request.session.get("added", 0) + 1
    return redirect(app.url_for("index"), 303)


@app.post("/toggle/<int:todo_id>")
def toggle(request, todo_id):
    todos.update(todo_id, done=not todos.get(todo_id)["done"])
    return redirect(app.url_for("index"), 303)


@app.post("/remove/<int:todo_id>")
def remove(request, todo_id):
    todos.remove(todo_id)
    return redirect(app.url_for("index"), 303)


# -- the JSON API ------------------------------------------------------------------

api = Blueprint("api", url_prefix="/api")


@api.get("/todos")
def list_todos(request):
    return todos.all()


@api.post("/todos")
def create_todo(request):
    data = request.json or {}
    return todos.add(str(data.get("title", ""))), 201


@api.patch("/todos/<int:todo_id>")
def update_todo(request, todo_id):
    data = request.json or {}
    return todos.update(todo_id, **{k: data[k] for k in ("title", "done") if k in data})


@api.delete("/todos/<int:todo_id>")
def delete_todo(request, todo_id):
    todos.remove(todo_id)
    return "", 204


@api.errorhandler(404)
@api.errorhandler(400)
def api_error(request, error):
    return {"error": error.description or error.name}, error.code


app.register_blueprint(api)


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
