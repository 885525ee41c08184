"""A small template engine: Jinja-like syntax, compiled once to Python, HTML-escaped.

Syntax:

    {{ user.name|upper }}          an expression, escaped; `|filter(args)` applies filters
    {% if x %}...{% elif y %}...{% else %}...{% endif %}
    {% for item in items %}...{% else %}(when empty){% endfor %}   `loop.index` etc.
    {% set total = a + b %}
    {% include "row.html" %}       renders another template with the current variables
    {% extends "base.html" %}      with {% block name %}...{% endblock %} to override,
                                   and {{ super() }} in a block for the parent's version
    {# a comment #}                `{%-` / `-%}` (and `{{-` / `-}}`) trim whitespace

Expressions are Python expressions, with three changes: `a.b` also finds dict keys
(`a["b"]`), `true`/`false`/`none` are accepted, and `|` means "filter" (there is no
bitwise or). Names come from the variables passed to `render`; an unknown name is
`Undefined`, which prints as nothing.

How it works: the source is cut into text and tags (`_tokenize`), the tags are parsed
into a tree (`_Parser`), and the tree is turned into the source of a Python function
(`_CodeGenerator`) that appends strings to a list. Names in expressions are rewritten
to locals read once from the context (`_NameRewriter`), so rendering is plain Python
bytecode. Each generated line remembers its template line, so an error while
rendering carries a note naming the template and line.

Templates are trusted code, like Python modules: this is not a sandbox.
"""

from __future__ import annotations

import ast
import html
import json
import linecache
import os
import re
import threading
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import quote


class TemplateError(Exception):
    """A template could not be found, parsed or rendered; names the template and line."""

    def __init__(self, message: str, name: str | None = None, line: int | None = None):
        where = f"{name}, line {line}: " if name and line else (f"{name}: " if name else "")
        super().__init__(where + message)
        self.name = name
        self.line = line


class TemplateSyntaxError(TemplateError):
    pass


class TemplateNotFound(TemplateError):
    pass


# -- values ------------------------------------------------------------------------------

class Markup(str):
    """Text that is already HTML: escaping leaves it alone."""

    __slots__ = ()

    def __html__(self) -> str:
        return self


class Undefined:
    """What an unknown name evaluates to: empty, falsy, iterable, and never an error
    until called, so optional variables need no guards."""

    __slots__ = ()

    def __str__(self) -> str:
        return ""

    def __html__(self) -> str:
        return ""

    def __bool__(self) -> bool:
        return False

    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return 0

    def __getattr__(self, name: str) -> "Undefined":
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __getitem__(self, key) -> "Undefined":
        return self

    def __eq__(self, other) -> bool:
        return isinstance(other, Undefined)

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "Undefined"


UNDEFINED = Undefined()


def escape(value) -> str:
    """HTML-escape `value`, unless it is Markup (or has an `__html__` method)."""
    if isinstance(value, str):
        if isinstance(value, Markup):
            return value
        return html.escape(value)
    html_method = getattr(value, "__html__", None)
    if html_method is not None:
        return html_method()
    return html.escape(str(value))


def _to_str(value) -> str:
    return value if isinstance(value, str) else str(value)


def _get_attribute(obj, name: str):
    """`a.b` in a template: the attribute if there is one, else the item, else Undefined."""
    try:
        return getattr(obj, name)
    except AttributeError:
        pass
    try:
        return obj[name]
    except (TypeError, LookupError):
        return UNDEFINED


class LoopInfo:
    """`loop` inside `{% for %}`: index (from 1), index0, first, last, length."""

    __slots__ = ("index0", "length")

    def __init__(self, length: int):
        self.index0 = -1
        self.length = length

    index = property(lambda self: self.index0 + 1)
    first = property(lambda self: self.index0 == 0)
    last = property(lambda self: self.index0 == self.length - 1)
    revindex = property(lambda self: self.length - self.index0)


def _super(blocks: dict[str, list[Callable]], name: str, depth: int, ctx: dict) -> Markup:
    """`{{ super() }}` in block `name`: the parent template's version of the block."""
    chain = blocks[name]
    if depth + 1 >= len(chain):
        raise TemplateError(f"super() in block {name!r}, which no parent template defines")
    out: list[str] = []
    chain[depth + 1](ctx, blocks, out.append, depth + 1)
    return Markup("".join(out))


def _loop(iterable):
    items = list(iterable)
    info = LoopInfo(len(items))
    for item in items:
        info.index0 += 1
        yield info, item


# -- filters -----------------------------------------------------------------------------

def _default(value, fallback="", boolean: bool = False):
    if isinstance(value, Undefined) or (boolean and not value):
        return fallback
    return value


def _truncate(value, length: int = 255, end: str = "...") -> str:
    text = str(value)
    return text if len(text) <= length else text[:max(0, length - len(end))] + end


FILTERS: dict[str, Callable] = {
    "upper": lambda v: str(v).upper(),
    "lower": lambda v: str(v).lower(),
    "title": lambda v: str(v).title(),
    "capitalize": lambda v: str(v).capitalize(),
    "trim": lambda v: str(v).strip(),
    "length": len,
    "count": len,
    "default": _default,
    "d": _default,
    "safe": lambda v: Markup(str(v)),
    "escape": lambda v: Markup(escape(v)),
    "e": lambda v: Markup(escape(v)),
    "join": lambda v, sep="": sep.join(str(x) for x in v),
    "first": lambda v: next(iter(v), UNDEFINED),
    "last": lambda v: list(v)[-1] if len(v) else UNDEFINED,
    "int": lambda v, default=0: _convert(int, v, default),
    "float": lambda v, default=0.0: _convert(float, v, default),
    "string": str,
    "replace": lambda v, old, new: str(v).replace(old, new),
    "truncate": _truncate,
    "round": lambda v, digits=0: round(v, digits),
    "abs": abs,
    "sort": lambda v, reverse=False: sorted(v, reverse=reverse),
    "reverse": lambda v: v[::-1] if isinstance(v, str) else list(reversed(list(v))),
    "list": list,
    "sum": sum,
    "min": min,
    "max": max,
    "tojson": lambda v: Markup(json.dumps(v).replace("<", "\\u003c").replace(">", "\\u003e")
                              .replace("&", "\\u0026").replace("'", "\\u0027")),
    "urlencode": lambda v: quote(str(v), safe=""),
    "striptags": lambda v: re.sub(r"<[^>]*>", "", str(v)),
    "nl2br": lambda v: Markup(escape(v).replace("\n", "<br>\n")),
}


def _convert(kind, value, default):
    try:
        return kind(value)
    except (TypeError, ValueError):
        return default


# -- tokenizer ---------------------------------------------------------------------------

_TAG = re.compile(r"\{\{-?|\{%-?|\{#")
_CLOSERS = {"{{": "}}", "{%": "%}", "{#": "#}"}


@dataclass
class _Token:
    kind: str        # "text", "output" or "tag"
    value: str
    line: int


def _tokenize(source: str, name: str) -> list[_Token]:
    tokens: list[_Token] = []
    position, line = 0, 1
    trim_next = False
    while True:
        match = _TAG.search(source, position)
        text = source[position:match.start() if match else len(source)]
        if trim_next:
            text = text.lstrip()
        if match and match.group().endswith("-"):
            text = text.rstrip()
        if text:
            tokens.append(_Token("text", text, line))
        line += source.count("\n", position, match.start() if match else len(source))
        if not match:
            return tokens
        opener = match.group()[:2]
        closer = _CLOSERS[opener]
        end = source.find(closer, match.end())
        if end < 0:
            raise TemplateSyntaxError(f"unclosed {opener}", name, line)
        inner = source[match.end():end]
        trim_next = inner.endswith("-") and opener != "{#"
        if trim_next:
            inner = inner[:-1]
        if opener == "{{":
            tokens.append(_Token("output", inner.strip(), line))
        elif opener == "{%":
            tokens.append(_Token("tag", inner.strip(), line))
        line += source.count("\n", match.start(), end)
        position = end + 2


# -- syntax tree -------------------------------------------------------------------------

@dataclass
class _Node:
    line: int


@dataclass
class _Text(_Node):
    text: str


@dataclass
class _Output(_Node):
    expr: str


@dataclass
class _If(_Node):
    branches: list[tuple[str, list]]          # (condition, body); condition "" for else


@dataclass
class _For(_Node):
    target: str
    iterable: str
    body: list
    empty: list


@dataclass
class _Set(_Node):
    target: str
    expr: str


@dataclass
class _Block(_Node):
    name: str
    body: list


@dataclass
class _Include(_Node):
    template: str


@dataclass
class _Parsed:
    body: list
    blocks: dict[str, _Block] = field(default_factory=dict)
    parent: str | None = None


_FOR = re.compile(r"for\s+(.+?)\s+in\s+(.+)\Z", re.S)
_SET = re.compile(r"set\s+([A-Za-z_][\w\s,]*?)\s*=\s*(.+)\Z", re.S)


class _Parser:
    def __init__(self, tokens: list[_Token], name: str):
        self.tokens = tokens
        self.position = 0
        self.name = name
        self.parsed = _Parsed([])

    def error(self, message: str, line: int) -> TemplateSyntaxError:
        return TemplateSyntaxError(message, self.name, line)

    def parse(self) -> _Parsed:
        self.parsed.body, _ = self.parse_body(())
        return self.parsed

    def parse_body(self, stop: tuple[str, ...]) -> tuple[list, _Token | None]:
        """Nodes up to a tag whose first word is in `stop`; returns (nodes, that tag)."""
        nodes: list[_Node] = []
        while self.position < len(self.tokens):
            token = self.tokens[self.position]
            self.position += 1
            if token.kind == "text":
                nodes.append(_Text(token.line, token.value))
            elif token.kind == "output":
                if not token.value:
                    raise self.error("empty {{ }}", token.line)
                nodes.append(_Output(token.line, token.value))
            else:
                word = token.value.split(None, 1)[0] if token.value else ""
                if word in stop:
                    return nodes, token
                nodes.append(self.parse_tag(word, token))
        return nodes, None

    def expect_end(self, opener: _Token, stop: tuple[str, ...]) -> tuple[list, _Token]:
        body, end = self.parse_body(stop)
        if end is None:
            raise self.error(f"{{% {opener.value.split()[0]} %}} is never closed "
                             f"(expected {{% {stop[-1]} %}})", opener.line)
        return body, end

    def parse_tag(self, word: str, token: _Token) -> _Node:
        rest = token.value[len(word):].strip()
        if word == "if":
            branches = []
            condition = rest
            while True:
                body, end = self.expect_end(token, ("elif", "else", "endif"))
                branches.append((condition, body))
                end_word = end.value.split(None, 1)[0]
                if end_word == "endif":
                    return _If(token.line, branches)
                if end_word == "else":
                    body, end = self.expect_end(token, ("endif",))
                    branches.append(("", body))
                    return _If(token.line, branches)
                condition = end.value[4:].strip()
        if word == "for":
            match = _FOR.match(token.value)
            if not match:
                raise self.error("expected {% for name in expression %}", token.line)
            body, end = self.expect_end(token, ("else", "endfor"))
            empty: list = []
            if end.value.split(None, 1)[0] == "else":
                empty, end = self.expect_end(token, ("endfor",))
            return _For(token.line, match.group(1), match.group(2), body, empty)
        if word == "set":
            match = _SET.match(token.value)
            if not match:
                raise self.error("expected {% set name = expression %}", token.line)
            return _Set(token.line, match.group(1), match.group(2))
        if word == "block":
            if not re.fullmatch(r"[A-Za-z_]\w*", rest):
                raise self.error("expected {% block name %}", token.line)
            if rest in self.parsed.blocks:
                raise self.error(f"block {rest!r} defined twice", token.line)
            body, end = self.expect_end(token, ("endblock",))
            closing = end.value[len("endblock"):].strip()
            if closing and closing != rest:
                raise self.error(f"{{% endblock {closing} %}} closes block {rest!r}", end.line)
            block = _Block(token.line, rest, body)
            self.parsed.blocks[rest] = block
            return block
        if word == "include":
            return _Include(token.line, self.template_name(rest, token))
        if word == "extends":
            if self.parsed.parent is not None:
                raise self.error("more than one {% extends %}", token.line)
            self.parsed.parent = self.template_name(rest, token)
            return _Text(token.line, "")
        if word in ("elif", "else", "endif", "endfor", "endblock"):
            raise self.error(f"unexpected {{% {word} %}} with nothing open to continue or close",
                             token.line)
        raise self.error(f"unknown tag {word!r}", token.line)

    def template_name(self, text: str, token: _Token) -> str:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = None
        if not isinstance(value, str):
            raise self.error(f"expected a quoted template name, got {text!r}", token.line)
        return value


# -- code generation ---------------------------------------------------------------------

_LITERALS = {"true": True, "false": False, "none": None, "True": True, "False": False,
             "None": None}


# `x|upper(1)` is rewritten to `x .__filter_upper(1)` before Python parses it: a filter
# binds like an attribute (tighter than `+`, as in Jinja), and the rewriter below turns
# the marker into the call `_filters["upper"](x, 1)`.
_FILTER_MARK = "__filter_"


class _NameRewriter(ast.NodeTransformer):
    """Template names become `v_<name>` locals; `a.b` becomes `_attr(a, "b")`; filter
    markers become filter calls."""

    def __init__(self, block: str | None = None):
        self.block = block                 # the block being compiled, for super()
        self.names: set[str] = set()
        self.filters: set[str] = set()

    def visit_Name(self, node: ast.Name):
        if node.id in _LITERALS and isinstance(node.ctx, ast.Load):
            return ast.copy_location(ast.Constant(_LITERALS[node.id]), node)
        if isinstance(node.ctx, ast.Load):
            self.names.add(node.id)
        return ast.copy_location(ast.Name("v_" + node.id, node.ctx), node)

    def _filter_call(self, node, marker: ast.Attribute, args: list, keywords: list):
        name = marker.attr[len(_FILTER_MARK):]
        self.filters.add(name)
        function = ast.Subscript(ast.Name("_filters", ast.Load()), ast.Constant(name), ast.Load())
        call = ast.Call(function, [self.visit(marker.value), *args], keywords)
        return ast.copy_location(call, node)

    def visit_Call(self, node: ast.Call):
        func = node.func
        if isinstance(func, ast.Name) and func.id == "super" and not node.args:
            if self.block is None:
                raise SyntaxError("super() is only allowed inside a block")
            # The same block one level up the extends chain, rendered to Markup.
            call = ast.parse(f"_super(_blocks, {self.block!r}, _depth, _ctx)", mode="eval").body
            return ast.copy_location(call, node)
        if isinstance(func, ast.Attribute) and func.attr.startswith(_FILTER_MARK):
            args = [self.visit(arg) for arg in node.args]
            keywords = [self.visit(keyword) for keyword in node.keywords]
            return self._filter_call(node, func, args, keywords)
        return self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute):
        if node.attr.startswith(_FILTER_MARK):
            return self._filter_call(node, node, [], [])
        self.generic_visit(node)
        if not isinstance(node.ctx, ast.Load):
            return node
        call = ast.Call(ast.Name("_attr", ast.Load()), [node.value, ast.Constant(node.attr)], [])
        return ast.copy_location(call, node)


_FILTER_PIPE = re.compile(r"\|\s*([A-Za-z_]\w*)")


def _mark_filters(expr: str) -> str:
    """Replace each `|name` outside string literals with the filter marker."""
    out, quote_char, i = [], "", 0
    while i < len(expr):
        char = expr[i]
        if quote_char:
            if char == "\\":
                out.append(expr[i:i + 2])
                i += 2
                continue
            if char == quote_char:
                quote_char = ""
        elif char in "'\"":
            quote_char = char
        elif char == "|":
            match = _FILTER_PIPE.match(expr, i)
            if match:
                out.append(f" .{_FILTER_MARK}{match.group(1)}")
                i = match.end()
                continue
        out.append(char)
        i += 1
    return "".join(out)


class _CodeGenerator:
    def __init__(self, name: str, filters: dict[str, Callable], autoescape: bool):
        self.name = name
        self.filters = filters
        self.autoescape = autoescape
        self.lines: list[str] = []
        self.line_map: list[int] = []      # template line for each generated line
        self.indent = 0
        self.current_line = 1
        self._counter = 0

    def emit(self, code: str) -> None:
        self.lines.append("    " * self.indent + code)
        self.line_map.append(self.current_line)

    def error(self, message: str) -> TemplateSyntaxError:
        return TemplateSyntaxError(message, self.name, self.current_line)

    def temp(self) -> str:
        self._counter += 1
        return f"_t{self._counter}"

    # Expressions ---------------------------------------------------------------

    def expression(self, source: str, rewriter: _NameRewriter) -> str:
        """Template expression -> Python source, filters applied, names rewritten."""
        tree = self._parse(_mark_filters(source)).body
        try:
            code = ast.unparse(rewriter.visit(tree))
        except SyntaxError as error:
            raise self.error(error.msg) from None
        unknown = rewriter.filters - self.filters.keys()
        if unknown:
            raise self.error(f"unknown filter {sorted(unknown)[0]!r}")
        return code

    def _parse(self, source: str) -> ast.Expression:
        try:
            return ast.parse(source.strip(), mode="eval")
        except SyntaxError as error:
            shown = source.replace(f" .{_FILTER_MARK}", "|").strip()
            raise self.error(f"invalid expression {shown!r}: {error.msg}") from None

    def target(self, source: str) -> str:
        """A `for`/`set` target (`x` or `key, value`), as assignable Python."""
        names = [n.strip() for n in source.split(",")]
        if not all(re.fullmatch(r"[A-Za-z_]\w*", n) for n in names):
            raise self.error(f"bad target {source!r}")
        return ", ".join("v_" + n for n in names)

    # Functions -------------------------------------------------------------------

    def function(self, name: str, body: list, block: str | None = None) -> None:
        """`def name(_ctx, _blocks, _w, _depth=0)` rendering `body`; names read once from
        _ctx. `_depth` is how far up the extends chain a block's code comes from."""
        rewriter = _NameRewriter(block)
        self.emit(f"def {name}(_ctx, _blocks, _w, _depth=0):")
        self.indent += 1
        prelude_at = len(self.lines)
        self.emit("pass")
        self.nodes(body, rewriter, set())
        # Now that the body is known, read every name it uses from the context.
        names = sorted(rewriter.names)
        prelude = [f"{'    ' * self.indent}v_{n} = _ctx.get({n!r}, _undefined)" for n in names]
        self.lines[prelude_at:prelude_at + 1] = prelude or ["    " * self.indent + "pass"]
        self.line_map[prelude_at:prelude_at + 1] = [self.line_map[prelude_at]] * max(1, len(prelude))
        self.indent -= 1

    def nodes(self, nodes: list, rewriter: _NameRewriter, local_names: set[str]) -> None:
        for node in nodes:
            self.current_line = node.line
            getattr(self, "node_" + type(node).__name__[1:].lower())(node, rewriter, local_names)

    def node_text(self, node: _Text, rewriter, local_names) -> None:
        if node.text:
            self.emit(f"_w({node.text!r})")

    def node_output(self, node: _Output, rewriter, local_names) -> None:
        wrap = "_escape" if self.autoescape else "_str"
        self.emit(f"_w({wrap}({self.expression(node.expr, rewriter)}))")

    def node_if(self, node: _If, rewriter, local_names) -> None:
        for index, (condition, body) in enumerate(node.branches):
            if not condition and index:
                self.emit("else:")
            else:
                keyword = "if" if index == 0 else "elif"
                self.emit(f"{keyword} {self.expression(condition, rewriter)}:")
            self.indent += 1
            self.emit("pass")
            self.nodes(body, rewriter, local_names)
            self.indent -= 1
            self.current_line = node.line

    def node_for(self, node: _For, rewriter, local_names) -> None:
        target = self.target(node.target)
        iterable = self.expression(node.iterable, rewriter)
        inner_names = local_names | {n.strip() for n in node.target.split(",")}
        empty_flag = self.temp()
        if node.empty:
            self.emit(f"{empty_flag} = True")
        # `loop` costs a list and an object per loop: only pay for it when the body uses
        # it. The body is generated first, with its own rewriter, to find out.
        loop_at = len(self.lines)
        self.emit("")
        self.indent += 1
        if node.empty:
            self.emit(f"{empty_flag} = False")
        self.emit("pass")
        body_rewriter = _NameRewriter()
        self.nodes(node.body, body_rewriter, inner_names)
        self.indent -= 1
        if "loop" in body_rewriter.names:
            header = f"for v_loop, ({target}) in _loop({iterable}):"
            body_rewriter.names.discard("loop")
        else:
            header = f"for {target} in {iterable}:"
        self.lines[loop_at] = "    " * self.indent + header
        rewriter.names |= body_rewriter.names
        if node.empty:
            self.current_line = node.line
            self.emit(f"if {empty_flag}:")
            self.indent += 1
            self.emit("pass")
            self.nodes(node.empty, rewriter, local_names)
            self.indent -= 1

    def node_set(self, node: _Set, rewriter, local_names) -> None:
        target = self.target(node.target)
        local_names.update(n.strip() for n in node.target.split(","))
        self.emit(f"{target} = {self.expression(node.expr, rewriter)}")

    def node_block(self, node: _Block, rewriter, local_names) -> None:
        self.emit(f"_blocks[{node.name!r}][0](_ctx, _blocks, _w)")

    def node_include(self, node: _Include, rewriter, local_names) -> None:
        # The included template sees the context plus this template's loop/set names.
        overrides = ", ".join(f"{n!r}: v_{n}" for n in sorted(local_names))
        context = f"{{**_ctx, {overrides}}}" if overrides else "_ctx"
        self.emit(f"_include({node.template!r}, {context}, _w)")


def _collect_blocks(nodes: list, found: list[_Block]) -> list[_Block]:
    for node in nodes:
        if isinstance(node, _Block):
            found.append(node)
            _collect_blocks(node.body, found)
        elif isinstance(node, _If):
            for _condition, body in node.branches:
                _collect_blocks(body, found)
        elif isinstance(node, _For):
            _collect_blocks(node.body, found)
            _collect_blocks(node.empty, found)
    return found


# -- templates and their environment -----------------------------------------------------

class Template:
    """A compiled template. `render(**context)` returns the text."""

    def __init__(self, source: str, name: str = "<string>", environment: "Environment | None" = None):
        self.name = name
        self.environment = environment or Environment()
        self.filename = f"<template {name}>"
        parsed = _Parser(_tokenize(source, name), name).parse()
        self.parent = parsed.parent
        generator = _CodeGenerator(name, self.environment.filters, self.environment.autoescape_for(name))
        generator.function("root", parsed.body)
        block_names = []
        for block in _collect_blocks(parsed.body, []):
            generator.current_line = block.line
            generator.function(f"block_{block.name}", block.body, block.name)
            block_names.append(block.name)
        self.python_source = "\n".join(generator.lines) + "\n"
        self._line_map = generator.line_map
        namespace = {
            "_escape": escape, "_str": _to_str, "_attr": _get_attribute, "_loop": _loop,
            "_undefined": UNDEFINED, "_filters": self.environment.filters,
            "_include": self.environment._include, "_super": _super,
        }
        code = compile(self.python_source, self.filename, "exec")
        exec(code, namespace)
        # Registered so tracebacks can show the generated line.
        linecache.cache[self.filename] = (len(self.python_source), None,
                                          self.python_source.splitlines(True), self.filename)
        self._root = namespace["root"]
        self.blocks: dict[str, Callable] = {n: namespace[f"block_{n}"] for n in block_names}

    def render(self, context: dict | None = None, /, **variables) -> str:
        ctx = {**self.environment.globals, **(context or {}), **variables}
        out: list[str] = []
        self.render_into(ctx, out.append)
        return "".join(out)

    def render_into(self, ctx: dict, write: Callable[[str], None]) -> None:
        """Render with the context `ctx`, passing each piece of output to `write`."""
        # Each block name -> its definitions from the lowest template up the `extends`
        # chain: the first one is rendered, super() renders the next.
        blocks: dict[str, list[Callable]] = {}
        template = self
        seen = set()
        while True:
            for name, block in template.blocks.items():
                blocks.setdefault(name, []).append(block)
            if template.parent is None:
                break
            seen.add(template.name)
            if template.parent in seen:
                raise TemplateError(f"{{% extends %}} loop through {template.parent!r}", template.name)
            template = self.environment.get_template(template.parent)
        try:
            template._root(ctx, blocks, write)
        except Exception as error:
            self.environment._annotate(error)
            raise

    def template_line(self, python_line: int) -> int:
        index = python_line - 1
        return self._line_map[index] if 0 <= index < len(self._line_map) else 0


class Environment:
    """Loads templates from a folder, compiles each once and keeps it.

    `auto_reload` recompiles a template whose file changed (for development).
    """

    def __init__(self, folder: str | None = None, *, autoescape: bool | Callable[[str], bool] = True,
                 auto_reload: bool = False):
        self.folder = folder
        self.autoescape = autoescape
        self.auto_reload = auto_reload
        self.filters: dict[str, Callable] = dict(FILTERS)
        self.globals: dict[str, object] = {"range": range, "len": len, "dict": dict,
                                           "enumerate": enumerate, "zip": zip}
        self._cache: dict[str, tuple[Template, float]] = {}
        self._by_filename: dict[str, Template] = {}
        self._lock = threading.Lock()

    def autoescape_for(self, name: str) -> bool:
        if callable(self.autoescape):
            return self.autoescape(name)
        return self.autoescape

    def from_string(self, source: str, name: str = "<string>") -> Template:
        template = Template(source, name, self)
        self._by_filename[template.filename] = template
        return template

    def _path(self, name: str) -> str:
        if self.folder is None:
            raise TemplateNotFound("no template folder configured", name)
        parts = name.replace("\\", "/").split("/")
        if name.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise TemplateNotFound("invalid template name", name)
        return os.path.join(self.folder, *parts)

    def get_template(self, name: str) -> Template:
        cached = self._cache.get(name)
        if cached is not None and not self.auto_reload:
            return cached[0]
        path = self._path(name)
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            raise TemplateNotFound(f"not found in {self.folder}", name) from None
        if cached is not None and cached[1] == mtime:
            return cached[0]
        with self._lock:
            with open(path, encoding="utf-8") as file:
                template = Template(file.read(), name, self)
            self._cache[name] = (template, mtime)
            self._by_filename[template.filename] = template
        return template

    def render(self, name: str, /, **context) -> str:
        return self.get_template(name).render(context)

    def _include(self, name: str, ctx: dict, write: Callable[[str], None]) -> None:
        self.get_template(name).render_into(ctx, write)

    def _annotate(self, error: Exception) -> None:
        """Note on `error` the template and line where it happened (the innermost one)."""
        if getattr(error, "template_name", None):
            return
        where = None
        traceback = error.__traceback__
        while traceback is not None:
            template = self._by_filename.get(traceback.tb_frame.f_code.co_filename)
            if template is not None:
                where = (template.name, template.template_line(traceback.tb_lineno))
            traceback = traceback.tb_next
        if where is not None:
            error.template_name, error.template_line = where
            error.add_note(f"in template {where[0]}, line {where[1]}")
