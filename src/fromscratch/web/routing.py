"""URL routing: rules like `/users/<int:uid>`, matched to views and built back (`url_for`).

A rule is a path with placeholders `<name>` or `<converter:name>`; a converter says what a
placeholder matches and turns the text into a Python value (`int`, `float`, `path`,
`uuid`, `str`) or back into text for `url_for`. `<re("[a-z]{3}"):code>` matches a regular
expression of your own.

The router answers three questions for a request: which rule (or 404), is the method
allowed (or 405 with `Allow`), and would the path match with a trailing slash (then a
308 redirect there, as Flask does: `/docs/` is the canonical URL of a rule written with
a slash, and `/docs` redirects to it; a rule written without one gives 404 for `/docs/`).

Rules without placeholders are kept in a dict, so the common case costs one lookup;
the others are tried in the order they were added.
"""

from __future__ import annotations

import ast
import re
import uuid
from typing import Callable
from urllib.parse import quote, urlencode

from .errors import HTTPError


class Converter:
    """Matches one path segment as a string (the default, also named `str`/`string`)."""

    regex = r"[^/]+"

    def to_python(self, value: str):
        return value

    def to_url(self, value) -> str:
        return quote(str(value), safe="")


class IntConverter(Converter):
    regex = r"\d+"

    def to_python(self, value: str) -> int:
        return int(value)


class FloatConverter(Converter):
    regex = r"\d+(?:\.\d+)?"

    def to_python(self, value: str) -> float:
        return float(value)


class PathConverter(Converter):
    """The rest of the path, slashes included."""

    regex = r"[^/].*?"

    def to_url(self, value) -> str:
        return quote(str(value), safe="/")


class UUIDConverter(Converter):
    regex = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

    def to_python(self, value: str) -> uuid.UUID:
        return uuid.UUID(value)


class RegexConverter(Converter):
    """`<re("[a-z]+"):slug>`: the segment must match the given expression."""

    def __init__(self, pattern: str):
        re.compile(pattern)           # fail at definition time, not at the first request
        self.regex = pattern


CONVERTERS: dict[str, type[Converter]] = {
    "default": Converter, "str": Converter, "string": Converter, "int": IntConverter,
    "float": FloatConverter, "path": PathConverter, "uuid": UUIDConverter, "re": RegexConverter,
}

_PLACEHOLDER = re.compile(
    r"<(?:(?P<converter>[a-zA-Z_]\w*)(?:\((?P<args>.*?)\))?:)?(?P<name>[a-zA-Z_]\w*)>")


def _converter_arguments(text: str) -> tuple[list, dict]:
    """`"[a-z]+", flags=1` -> (["[a-z]+"], {"flags": 1}): literals only, like a call."""
    call = ast.parse(f"f({text})", mode="eval").body
    args = [ast.literal_eval(arg) for arg in call.args]
    kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
    return args, kwargs


class Rule:
    """One route: a path pattern, the methods it answers, and its view."""

    def __init__(self, path: str, endpoint: str, view: Callable, methods=None,
                 converters: dict[str, type[Converter]] | None = None, blueprint=None):
        if not path.startswith("/"):
            raise ValueError(f"route {path!r} must start with '/'")
        self.path = path
        self.endpoint = endpoint
        self.view = view
        self.blueprint = blueprint
        methods = {m.upper() for m in (methods or ("GET",))}
        if "GET" in methods:
            methods.add("HEAD")
        # OPTIONS is answered by the app with the Allow list unless the view asks for it.
        self.auto_options = "OPTIONS" not in methods
        methods.add("OPTIONS")
        self.methods = frozenset(methods)
        self._parse(path, converters or CONVERTERS)

    def _parse(self, path: str, converters: dict[str, type[Converter]]) -> None:
        # The pieces of the path, literal strings and (name, converter) pairs, for building.
        self.parts: list[str | tuple[str, Converter]] = []
        pattern, position = [], 0
        for match in _PLACEHOLDER.finditer(path):
            literal = path[position:match.start()]
            self.parts.append(literal)
            pattern.append(re.escape(literal))
            kind = match.group("converter") or "default"
            if kind not in converters:
                raise ValueError(f"unknown converter {kind!r} in route {path!r}")
            args, kwargs = _converter_arguments(match.group("args") or "")
            converter = converters[kind](*args, **kwargs)
            name = match.group("name")
            if any(isinstance(p, tuple) and p[0] == name for p in self.parts):
                raise ValueError(f"placeholder {name!r} appears twice in route {path!r}")
            self.parts.append((name, converter))
            pattern.append(f"(?P<{name}>{converter.regex})")
            position = match.end()
        self.parts.append(path[position:])
        pattern.append(re.escape(path[position:]))
        self.is_static = len(self.parts) == 1
        self.arguments = {p[0] for p in self.parts if isinstance(p, tuple)}
        self._regex = re.compile("".join(pattern))

    def match(self, path: str) -> dict | None:
        """The converted arguments if `path` matches, else None."""
        found = self._regex.fullmatch(path)
        if found is None:
            return None
        args = {}
        for name, converter in self.parts[1::2]:
            try:
                args[name] = converter.to_python(found.group(name))
            except ValueError:       # e.g. a UUID-shaped string that is no UUID
                return None
        return args

    def build(self, values: dict) -> str:
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            else:
                name, converter = part
                out.append(converter.to_url(values[name]))
        return "".join(out)

    def __repr__(self) -> str:
        return f"<Rule {self.path!r} {sorted(self.methods)} -> {self.endpoint}>"


class RequestRedirect(HTTPError):
    """The path matches only with a trailing slash: redirect there (308 keeps the method)."""

    def __init__(self, new_path: str):
        super().__init__(308)
        self.new_path = new_path


class Router:
    def __init__(self):
        self.converters = dict(CONVERTERS)
        self.rules: list[Rule] = []
        self._static: dict[str, dict[str, Rule]] = {}   # path -> method -> rule
        self._dynamic: list[Rule] = []
        self._by_endpoint: dict[str, list[Rule]] = {}

    def add(self, path: str, endpoint: str, view: Callable, methods=None,
            blueprint=None) -> Rule:
        rule = Rule(path, endpoint, view, methods, self.converters, blueprint)
        existing = self._by_endpoint.get(endpoint)
        if existing and existing[0].view is not view:
            raise ValueError(f"endpoint {endpoint!r} is already bound to another view")
        self.rules.append(rule)
        self._by_endpoint.setdefault(endpoint, []).append(rule)
        if rule.is_static:
            by_method = self._static.setdefault(path, {})
            for method in rule.methods:
                # An explicit OPTIONS view beats an automatic one; otherwise first one wins.
                if method not in by_method or (method == "OPTIONS" and not rule.auto_options):
                    by_method[method] = rule
        else:
            self._dynamic.append(rule)
        return rule

    def match(self, method: str, path: str) -> tuple[Rule, dict]:
        """The rule and arguments for a request; raises 404, 405 or a redirect."""
        by_method = self._static.get(path)
        if by_method is not None:
            rule = by_method.get(method)
            if rule is not None:
                return rule, {}
        for rule in self._dynamic:
            if method in rule.methods:
                args = rule.match(path)
                if args is not None:
                    return rule, args
        allowed = self.allowed_methods(path)
        if allowed:
            raise HTTPError(405, f"{method} is not allowed here",
                            {"Allow": ", ".join(sorted(allowed))})
        if not path.endswith("/") and self.allowed_methods(path + "/"):
            raise RequestRedirect(path + "/")
        raise HTTPError(404, "The requested URL was not found on the server.")

    def allowed_methods(self, path: str) -> set[str]:
        allowed = set(self._static.get(path, ()))
        for rule in self._dynamic:
            if rule.match(path) is not None:
                allowed |= rule.methods
        return allowed

    def build(self, endpoint: str, values: dict) -> str:
        """The path for `endpoint`; values that are not placeholders go in the query."""
        anchor = values.pop("_anchor", None)
        rules = self._by_endpoint.get(endpoint)
        if not rules:
            raise LookupError(f"no route for endpoint {endpoint!r}")
        for rule in rules:
            if rule.arguments <= values.keys():
                break
        else:
            missing = sorted(rules[0].arguments - values.keys())
            raise LookupError(f"url_for({endpoint!r}) is missing {', '.join(missing)}")
        url = rule.build(values)
        extra = {k: v for k, v in values.items() if k not in rule.arguments and v is not None}
        if extra:
            url += "?" + urlencode(extra, doseq=True)
        if anchor:
            url += "#" + quote(str(anchor))
        return url
