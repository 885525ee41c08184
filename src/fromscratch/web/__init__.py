"""fromscratch.web: a micro web framework with its own HTTP/1.1 server.

    from fromscratch.web import App

    app = App()

    @app.get("/hello/<name>")
    def hello(request, name):
        return {"hello": name}

    app.run(port=8000)
"""

from .app import App, Blueprint, Config
from .datastructures import Headers, MultiDict
from .errors import HTTPError, abort
from .multipart import FileStorage
from .request import Request
from .response import Response, jsonify, redirect
from .static import safe_join, send_file, send_from_directory
from .templates import Environment, Markup, Template, TemplateError, TemplateSyntaxError

__all__ = [
    "App", "Blueprint", "Config", "Environment", "FileStorage", "HTTPError", "Headers",
    "Markup", "MultiDict", "Request", "Response", "Template", "TemplateError",
    "TemplateSyntaxError", "abort", "jsonify", "redirect", "safe_join", "send_file",
    "send_from_directory",
]
