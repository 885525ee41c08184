"""The application: routes, hooks, error handlers, config, and the WSGI entry point.

Handling one request (`App.handle`):

    Request(environ) -> router.match -> before_request hooks -> view
        -> make_response(return value) -> after_request hooks -> save session
        -> teardown_request hooks (always, with the exception if there was one)

Any exception on the way becomes a response in `handle_exception`: an `HTTPError`
(from `abort()`, or the router's 404/405) through the error handler for its code, any
other exception through a handler for its class, or else a 500 page that never shows
the traceback unless `debug` is on.

Views receive the request as their first argument; nothing is stored in thread-locals,
so a view is an ordinary function that is easy to call in a test.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from html import escape
from typing import Callable, Iterable

from .errors import HTTPError
from .request import Request
from .response import HTML, JSON, Response, dumps, redirect
from .routing import RequestRedirect, Router
from .sessions import SessionInterface
from .static import send_from_directory
from .templates import Environment

log = logging.getLogger("fromscratch.web")


class Config(dict):
    """`app.config`: a dict with loaders. Keys are upper-case by convention."""

    DEFAULTS = {
        "DEBUG": False,
        "SECRET_KEY": None,
        "MAX_CONTENT_LENGTH": None,       # bytes; larger request bodies get 413
        "SESSION_COOKIE_NAME": "session",
        "SESSION_LIFETIME": 31 * 24 * 3600,   # seconds; None: until the browser closes
        "SESSION_COOKIE_SECURE": False,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "STATIC_MAX_AGE": None,           # Cache-Control max-age for static files
        "TEMPLATES_AUTO_RELOAD": None,    # None: reload when DEBUG is on
    }

    def __init__(self, defaults: dict | None = None):
        super().__init__(self.DEFAULTS)
        if defaults:
            self.update(defaults)

    def from_mapping(self, mapping: dict | None = None, **values) -> None:
        """Take the upper-case keys of `mapping` and `values`."""
        for key, value in {**(mapping or {}), **values}.items():
            if key.isupper():
                self[key] = value

    def from_object(self, obj) -> None:
        """Take the upper-case attributes of a module or class."""
        self.from_mapping({key: getattr(obj, key) for key in dir(obj) if key.isupper()})

    def from_env(self, prefix: str = "FROMSCRATCH_WEB_") -> None:
        """Take `PREFIX_KEY=value` environment variables. A value that parses as JSON
        (`true`, `1048576`, `"x"`) is used parsed; anything else stays a string."""
        for name, raw in os.environ.items():
            if name.startswith(prefix) and len(name) > len(prefix):
                try:
                    value = json.loads(raw)
                except ValueError:
                    value = raw
                self[name[len(prefix):]] = value


class _Scaffold:
    """What an App and a Blueprint share: route decorators, hooks, error handlers."""

    def __init__(self):
        self.before_request_funcs: list[Callable] = []
        self.after_request_funcs: list[Callable] = []
        self.teardown_request_funcs: list[Callable] = []
        self.error_handlers: dict[int | type, Callable] = {}

    def add_url_rule(self, path: str, endpoint: str | None, view: Callable,
                     methods: Iterable[str] | None = None) -> None:
        raise NotImplementedError

    def route(self, path: str, methods: Iterable[str] | None = None,
              endpoint: str | None = None) -> Callable:
        """Decorator: `view(request, **placeholders)` answers `methods` (default GET) on `path`."""
        def decorator(view: Callable) -> Callable:
            self.add_url_rule(path, endpoint, view, methods)
            return view
        return decorator

    def get(self, path: str, **options) -> Callable:
        return self.route(path, methods=["GET"], **options)

    def post(self, path: str, **options) -> Callable:
        return self.route(path, methods=["POST"], **options)

    def put(self, path: str, **options) -> Callable:
        return self.route(path, methods=["PUT"], **options)

    def patch(self, path: str, **options) -> Callable:
        return self.route(path, methods=["PATCH"], **options)

    def delete(self, path: str, **options) -> Callable:
        return self.route(path, methods=["DELETE"], **options)

    def before_request(self, func: Callable) -> Callable:
        """`func(request)` runs before the view; a non-None return is the response."""
        self.before_request_funcs.append(func)
        return func

    def after_request(self, func: Callable) -> Callable:
        """`func(request, response)` runs after the view and returns the response."""
        self.after_request_funcs.append(func)
        return func

    def teardown_request(self, func: Callable) -> Callable:
        """`func(request, error)` runs at the very end, even after an exception."""
        self.teardown_request_funcs.append(func)
        return func

    def errorhandler(self, code_or_exception: int | type) -> Callable:
        """Decorator: `handler(request, error)` answers an HTTP status code or an
        exception class (and its subclasses)."""
        if isinstance(code_or_exception, type) and issubclass(code_or_exception, HTTPError) \
                and code_or_exception is not HTTPError:
            raise TypeError("register HTTP errors by status code, e.g. errorhandler(404)")

        def decorator(handler: Callable) -> Callable:
            self.error_handlers[code_or_exception] = handler
            return handler
        return decorator

    def _error_handler(self, error: Exception) -> Callable | None:
        handlers = self.error_handlers
        if not handlers:
            return None
        if isinstance(error, HTTPError) and error.code in handlers:
            return handlers[error.code]
        for cls in type(error).__mro__:
            if cls in handlers:
                return handlers[cls]
        return None


class Blueprint(_Scaffold):
    """A group of routes with its own URL prefix, hooks and error handlers.

    Endpoints are named `<blueprint>.<function>`; the blueprint's hooks and error
    handlers apply only to requests that its routes answer.
    """

    def __init__(self, name: str, url_prefix: str = ""):
        super().__init__()
        if "." in name:
            raise ValueError("a blueprint name may not contain a dot")
        self.name = name
        self.url_prefix = url_prefix
        self._deferred: list[tuple[str, str | None, Callable, Iterable[str] | None]] = []

    def add_url_rule(self, path, endpoint, view, methods=None) -> None:
        self._deferred.append((path, endpoint, view, methods))


def _caller_directory() -> str:
    """The folder of the module that created the App, where its templates live."""
    here = os.path.dirname(os.path.abspath(__file__))
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_globals.get("__file__")
        if filename and os.path.dirname(os.path.abspath(filename)) != here:
            return os.path.dirname(os.path.abspath(filename))
        frame = frame.f_back
    return os.getcwd()


class App(_Scaffold):
    """A web application, and a WSGI callable: `app(environ, start_response)`."""

    request_class = Request

    def __init__(self, template_folder: str = "templates", static_folder: str | None = "static",
                 static_url_path: str = "/static", secret_key: str | None = None,
                 root_path: str | None = None, debug: bool = False, config: dict | None = None):
        super().__init__()
        self.root_path = root_path or _caller_directory()
        self.config = Config(config)
        if secret_key is not None:
            self.config["SECRET_KEY"] = secret_key
        if debug:
            self.config["DEBUG"] = True
        self.router = Router()
        self.blueprints: dict[str, Blueprint] = {}
        self.session_interface = SessionInterface(self)
        self.template_folder = os.path.join(self.root_path, template_folder)
        self._templates: Environment | None = None
        self.static_folder = os.path.join(self.root_path, static_folder) if static_folder else None
        if self.static_folder:
            self.add_url_rule(static_url_path.rstrip("/") + "/<path:filename>", "static",
                              self.send_static_file, ["GET"])

    # -- configuration -----------------------------------------------------------------

    @property
    def debug(self) -> bool:
        return bool(self.config["DEBUG"])

    @debug.setter
    def debug(self, value: bool) -> None:
        self.config["DEBUG"] = value

    @property
    def secret_key(self) -> str | None:
        return self.config["SECRET_KEY"]

    @secret_key.setter
    def secret_key(self, value: str) -> None:
        self.config["SECRET_KEY"] = value

    # -- routes ------------------------------------------------------------------------

    def add_url_rule(self, path: str, endpoint: str | None, view: Callable,
                     methods: Iterable[str] | None = None, blueprint: Blueprint | None = None) -> None:
        endpoint = endpoint or view.__name__
        if blueprint is not None:
            endpoint = f"{blueprint.name}.{endpoint}"
        self.router.add(path, endpoint, view, methods, blueprint)

    def register_blueprint(self, blueprint: Blueprint, url_prefix: str | None = None) -> None:
        if blueprint.name in self.blueprints:
            raise ValueError(f"a blueprint named {blueprint.name!r} is already registered")
        self.blueprints[blueprint.name] = blueprint
        prefix = (blueprint.url_prefix if url_prefix is None else url_prefix).rstrip("/")
        for path, endpoint, view, methods in blueprint._deferred:
            self.add_url_rule(prefix + path, endpoint, view, methods, blueprint)

    def url_for(self, endpoint: str, **values) -> str:
        """The path of `endpoint` with `values` filled in; extra values become the query.
        (For a URL under the request's script root or with the host, use
        `request.url_for`.)"""
        return self.router.build(endpoint, values)

    # -- templates and static files ---------------------------------------------------

    @property
    def templates(self) -> Environment:
        if self._templates is None:
            reload = self.config["TEMPLATES_AUTO_RELOAD"]
            self._templates = Environment(
                self.template_folder, auto_reload=self.debug if reload is None else reload)
            self._templates.globals.update(url_for=self.url_for, config=self.config)
        return self._templates

    def render(self, template_name: str, /, **context) -> str:
        """Render a template from `template_folder` (HTML-escaped)."""
        return self.templates.render(template_name, **context)

    def send_static_file(self, request: Request, filename: str) -> Response:
        return send_from_directory(request, self.static_folder, filename,
                                   max_age=self.config["STATIC_MAX_AGE"])

    # -- handling a request ----------------------------------------------------------------

    def __call__(self, environ: dict, start_response):
        """The WSGI entry point."""
        request = self.request_class(environ, self)
        return self.handle(request)(environ, start_response)

    def handle(self, request: Request) -> Response:
        """The response to `request`, after every hook. Never raises."""
        request.max_content_length = self.config["MAX_CONTENT_LENGTH"]
        error = None
        try:
            try:
                response = self._dispatch(request)
            except Exception as exc:
                error = exc
                response = self.handle_exception(request, exc)
            try:
                response = self._finish(request, response)
            except Exception as exc:
                error = exc
                response = self.handle_exception(request, exc)
        finally:
            self._teardown(request, error)
        return response

    def _dispatch(self, request: Request) -> Response:
        rule, args = self.router.match(request.method, request.path)
        request.rule = rule
        request.view_args = args
        blueprint = rule.blueprint
        if self.before_request_funcs or blueprint:
            hooks = self.before_request_funcs + (blueprint.before_request_funcs if blueprint else [])
            for func in hooks:
                result = func(request)
                if result is not None:
                    return self.make_response(result)
        if rule.auto_options and request.method == "OPTIONS":
            allowed = ", ".join(sorted(self.router.allowed_methods(request.path)))
            return Response(b"", 200, {"Allow": allowed}, content_type="text/plain; charset=utf-8")
        return self.make_response(rule.view(request, **args))

    def _finish(self, request: Request, response: Response) -> Response:
        """after_request hooks (blueprint's, then app's, latest first), then the session."""
        if self.after_request_funcs or request.blueprint:
            for func in self._latest_first(request.blueprint, "after_request_funcs"):
                response = func(request, response)
                if response is None:
                    raise TypeError(f"after_request hook {func.__name__} returned None")
        session = request.__dict__.get("session")
        if session is not None:
            response.headers.add("Vary", "Cookie")
            if session.modified:
                self.session_interface.save(session, response)
        return response

    def _latest_first(self, blueprint: Blueprint | None, kind: str) -> list[Callable]:
        """Closing hooks run like unwinding a stack: the blueprint's (innermost) first,
        then the app's; within each, the last registered first."""
        hooks = getattr(blueprint, kind)[::-1] if blueprint else []
        return hooks + getattr(self, kind)[::-1]

    def _teardown(self, request: Request, error: BaseException | None) -> None:
        if self.teardown_request_funcs or request.blueprint:
            for func in self._latest_first(request.blueprint, "teardown_request_funcs"):
                try:
                    func(request, error)
                except Exception:
                    log.exception("teardown_request hook %s failed", func.__name__)
        request.close()

    def make_response(self, rv) -> Response:
        """Turn what a view returned into a Response.

        str -> HTML, dict/list -> JSON, bytes -> as is, an iterable -> streamed; a
        tuple adds a status and/or headers: (body, status), (body, headers),
        (body, status, headers).
        """
        if type(rv) is Response:
            return rv
        status = headers = None
        if isinstance(rv, tuple):
            if len(rv) == 3:
                rv, status, headers = rv
            elif len(rv) == 2:
                rv, extra = rv
                if isinstance(extra, int):
                    status = extra
                else:
                    headers = extra
            else:
                raise TypeError("a view may return (body, status), (body, headers) "
                                "or (body, status, headers)")
        if isinstance(rv, Response):
            if status is not None:
                rv.status_code = status
            if headers:
                rv.headers.update(headers)
            return rv
        if isinstance(rv, (dict, list)):
            response = Response(dumps(rv), status or 200, content_type=JSON)
        elif isinstance(rv, (str, bytes)) or (rv is not None and hasattr(rv, "__iter__")):
            response = Response(rv, status or 200)
        else:
            raise TypeError(f"a view returned {type(rv).__name__}; return a str, bytes, dict, "
                            f"list, iterable or Response")
        if headers:
            response.headers.update(headers)
        return response

    # -- errors ------------------------------------------------------------------------

    def handle_exception(self, request: Request, error: Exception) -> Response:
        """The response for an exception raised while handling `request`."""
        if isinstance(error, RequestRedirect):
            location = request.script_root + error.new_path
            if request.query_string:
                location += "?" + request.query_string
            return redirect(location, 308)
        handler = self._find_error_handler(request, error)
        if handler is None and not isinstance(error, HTTPError):
            log.error("unhandled exception in %s %s", request.method, request.path,
                      exc_info=error)
            wrapped = HTTPError(500)
            wrapped.original = error
            error = wrapped
            handler = self._find_error_handler(request, error)
        if handler is not None:
            try:
                return self.make_response(handler(request, error))
            except Exception as handler_error:
                log.error("error handler %s failed", handler.__name__, exc_info=handler_error)
                error = HTTPError(500)
                error.original = handler_error
        return self.error_response(request, error)

    def _find_error_handler(self, request: Request, error: Exception) -> Callable | None:
        blueprint = request.blueprint
        handler = blueprint._error_handler(error) if blueprint else None
        return handler or self._error_handler(error)

    def error_response(self, request: Request, error: HTTPError) -> Response:
        """The default error page: HTML, or JSON for clients that prefer it."""
        description = error.description or ""
        details = ""
        if self.debug and error.original is not None:
            details = "".join(traceback.format_exception(error.original))
        if request.best_match(["text/html", "application/json"]) == "application/json":
            payload = {"error": error.name, "status": error.code}
            if description:
                payload["description"] = description
            if details:
                payload["traceback"] = details
            response = Response(dumps(payload), error.code, content_type=JSON)
        else:
            body = (f"<!doctype html>\n<title>{error.code} {escape(error.name)}</title>\n"
                    f"<h1>{escape(error.name)}</h1>\n")
            if description:
                body += f"<p>{escape(description)}</p>\n"
            if details:
                body += f"<pre>{escape(details)}</pre>\n"
            response = Response(body, error.code, content_type=HTML)
        response.headers.update(error.headers)
        return response

    # -- tools ---------------------------------------------------------------------------

    def test_client(self, **options):
        """A client that calls the app directly, for tests: `client.get("/")`."""
        from .testing import TestClient
        return TestClient(self, **options)

    def run(self, host: str = "127.0.0.1", port: int = 8000, **options) -> None:
        """Serve the app with the framework's own HTTP/1.1 server until SIGINT/SIGTERM."""
        from .http.server import serve
        options.setdefault("max_body_size", self.config["MAX_CONTENT_LENGTH"])
        serve(self, host, port, **options)
