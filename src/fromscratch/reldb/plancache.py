"""Generic plans for the simple query protocol.

Clients that do not prepare statements (psql, pgbench's default mode, most programs
in autocommit) send the same statements over and over with different numbers in them:
`SELECT abalance FROM pgbench_accounts WHERE aid = 553207`. Lexing, parsing and
planning each one costs more than running it. Here statements that differ only in
their numeric literals share one plan: it is made once with those literals turned
into parameters typed as the literals themselves are (int4, int8 or numeric, by
value), which is PostgreSQL's generic plan for a prepared statement, applied to
unprepared ones. Statements without numbers are simply kept by their text.

A literal the planner reads as more than a value stays part of the key: a position in
ORDER BY, GROUP BY or DISTINCT ON, anything in a window or grouping-set clause, and
type modifiers such as varchar(10). So do literals whose type would change with their
sign. Only queries, INSERT, UPDATE, DELETE and transaction control are kept; if the
generic plan cannot be made, the statement is planned as written (its errors are then
exactly as before).

Tokenizing is then the largest cost left, so a statement of a shape already found is
not tokenized at all: its text with the digit runs cut out (the skeleton) leads to the
shape, and the runs are the numeric tokens' values. Texts with quotes, dollar signs,
comments or NULs are never handled this way, and a skeleton is only learned from a
statement whose numeric tokens were exactly its digit runs. Two texts with the same
skeleton then tokenize alike except for the digits, so the shortcut gives the tokenizer's
answer.
"""

from __future__ import annotations

import re

from . import types as T
from .sql import ast as A
from .sql.lexer import NUMBER, OP, PARAM

KEPT = (A.Query, A.Insert, A.Update, A.Delete, A.Transaction)
MAX_TEMPLATES = 256


def literal_class(text: str):
    """The type a numeric literal gets: int4, int8 or numeric."""
    if text.isdigit():
        value = int(text)
        if value < (1 << 31):
            return T.INT4
        if value < (1 << 63):
            return T.INT8
    return T.NUMERIC_T


def _value(text: str, t: T.SqlType, negative: bool):
    value = int(text) if t.oid != T.NUMERIC_T.oid else T.parse_numeric(text)
    return -value if negative else value


class Template:
    """A statement's shape: its plan, which numeric tokens are its parameters (token
    index, negated?) and which stay fixed (token index -> text)."""

    __slots__ = ("prepared", "slots", "fixed")

    def __init__(self, prepared, slots, fixed):
        self.prepared = prepared
        self.slots = slots
        self.fixed = fixed

    def params(self, numbers: dict) -> list | None:
        """The parameter values of a statement with this shape, given its numeric
        tokens' texts by token index, or None if one of its fixed literals differs."""
        for index, text in self.fixed.items():
            if numbers[index] != text:
                return None
        types = self.prepared.param_types
        return [_value(numbers[index], t, negative)
                for (index, negative), t in zip(self.slots, types)]


def numeric_tokens(tokens) -> dict:
    """{token index: text} of a statement's numeric literals."""
    return {i: t.value for i, t in enumerate(tokens) if t.kind == NUMBER}


_NOT_SKELETAL = re.compile(r"['\"$\0]|--|/\*")
_DIGIT_RUN = re.compile(r"(?<![\w$.])(\d+)(?![\w.$])")


def _skeleton(text: str):
    """(text without its digit runs, the runs), or None for a text this is not for."""
    if _NOT_SKELETAL.search(text):
        return None
    parts = _DIGIT_RUN.split(text)          # text, run, text, run, ..., text
    return "\0".join(parts[0::2]), parts[1::2]


class GenericPlans:
    def __init__(self):
        self.templates: dict = {}
        # (skeleton, classes of its numbers) -> (shape key, token index of each run)
        self.skeletons: dict = {}

    @staticmethod
    def key(tokens) -> tuple | None:
        if any(t.kind == PARAM for t in tokens):
            return None
        return tuple((t.kind, t.value) if t.kind != NUMBER else (NUMBER, literal_class(t.value).oid)
                     for t in tokens)

    def find(self, key, numbers: dict, search_path):
        """(prepared statement, parameter values) for a statement of a known shape,
        planned under the same search_path (names may resolve differently under
        another)."""
        template = self.templates.get(key)
        if template is None or template.prepared.search_path != search_path:
            return None
        params = template.params(numbers)
        return None if params is None else (template.prepared, params)

    def find_text(self, text: str, search_path):
        """find() for a text whose skeleton is known, without tokenizing it."""
        cut = _skeleton(text)
        if cut is None:
            return None
        skeleton, runs = cut
        known = self.skeletons.get((skeleton, tuple(literal_class(r).oid for r in runs)))
        if known is None:
            return None
        key, indices = known
        return self.find(key, dict(zip(indices, runs)), search_path)

    def learn_text(self, text: str, key, numbers: dict) -> None:
        """After find() succeeded for `text`: let find_text() answer its skeleton."""
        cut = _skeleton(text)
        if cut is None or cut[1] != list(numbers.values()):
            return
        skeleton, runs = cut
        if len(self.skeletons) >= MAX_TEMPLATES:
            self.skeletons.clear()
        self.skeletons[(skeleton, tuple(literal_class(r).oid for r in runs))] = \
            (key, list(numbers))

    def remember(self, key, template: Template) -> None:
        if len(self.templates) >= MAX_TEMPLATES:
            self.templates.clear()
        self.templates[key] = template

    def clear(self) -> None:
        self.templates.clear()
        self.skeletons.clear()


def parameterize(ast, tokens) -> tuple[list, list, dict] | None:
    """Replace the numeric literals of `ast` that are plain values by parameters.
    Returns (parameter types, slots, fixed literals), or None if `ast` is not a kind
    of statement kept here."""
    if not isinstance(ast, KEPT):
        return None
    by_position = {t.pos: i for i, t in enumerate(tokens)}
    slots, types, replaced = [], [], set()
    for node in _value_constants(ast):
        index = by_position.get(node.pos)
        if index is None:
            continue
        negative = tokens[index].kind == OP and tokens[index].value == "-"
        if negative:
            index += 1
        if tokens[index].kind != NUMBER:
            continue
        t = literal_class(node.value.lstrip("-"))
        if t.oid != _const_type(node.value).oid:
            continue                     # -2147483648 is int4, 2147483648 int8: keep it
        replaced.add(index)
        slots.append((index, negative))
        types.append(t)
        _become_param(node, len(slots))
    fixed = {i: t.value for i, t in enumerate(tokens) if t.kind == NUMBER and i not in replaced}
    return types, slots, fixed


def _const_type(text: str) -> T.SqlType:
    digits = text.lstrip("-")
    if digits.isdigit():
        value = int(text)
        if -(1 << 31) <= value < (1 << 31):
            return T.INT4
        if -(1 << 63) <= value < (1 << 63):
            return T.INT8
    return T.NUMERIC_T


def _become_param(node: A.Const, number: int) -> None:
    """Turn a Const node into a Param node in place (its parents keep their links)."""
    pos = node.pos
    node.__class__ = A.Param
    node.__dict__.clear()
    node.number = number
    node.pos = pos


def _value_constants(node):
    """The int and numeric Const nodes of a statement that are plain values."""
    out = []
    _walk(node, out)
    return out


_POSITIONAL = ("order_by", "group_by", "distinct_on")


def _walk(node, out) -> None:
    if isinstance(node, A.Const):
        if node.kind in ("int", "numeric"):
            out.append(node)
        return
    if isinstance(node, (A.GroupingSets, A.WindowSpec)):
        return
    if isinstance(node, A.Node):
        for name, value in vars(node).items():
            if name in _POSITIONAL and isinstance(value, list):
                for item in value:
                    expr = item.expr if isinstance(item, A.SortItem) else item
                    if not isinstance(expr, A.Const):
                        _walk(item, out)
                continue
            if name == "over":
                continue
            _walk(value, out)
    elif isinstance(node, (list, tuple)):
        for item in node:
            _walk(item, out)
    elif isinstance(node, dict):
        return                       # window definitions (Select.windows)

