"""AST back to SQL text: for column defaults and check constraints as the catalog shows
them, and for EXPLAIN's conditions. Parenthesises every operation, so the text always
reparses to the same tree."""

from __future__ import annotations

from . import ast as A


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def unparse(node) -> str:
    if isinstance(node, A.Const):
        if node.kind == "string":
            return quote_literal(node.value)
        if node.kind == "null":
            return "NULL"
        if node.kind == "bool":
            return "true" if node.value else "false"
        return node.value
    if isinstance(node, A.Param):
        return f"${node.number}"
    if isinstance(node, A.ColumnRef):
        return ".".join(node.names)
    if isinstance(node, A.Star):
        return ".".join((node.table or []) + ["*"])
    if isinstance(node, A.BinaryOp):
        return f"({unparse(node.left)} {node.op} {unparse(node.right)})"
    if isinstance(node, A.UnaryOp):
        return f"({node.op}{unparse(node.operand)})"
    if isinstance(node, A.Not):
        return f"(NOT {unparse(node.operand)})"
    if isinstance(node, A.IsNull):
        return f"({unparse(node.operand)} IS {'NOT ' if node.negated else ''}NULL)"
    if isinstance(node, A.IsBool):
        word = {True: "TRUE", False: "FALSE", None: "UNKNOWN"}[node.value]
        return f"({unparse(node.operand)} IS {'NOT ' if node.negated else ''}{word})"
    if isinstance(node, A.IsDistinct):
        return (f"({unparse(node.left)} IS {'NOT ' if node.negated else ''}DISTINCT FROM "
                f"{unparse(node.right)})")
    if isinstance(node, A.Between):
        return (f"({unparse(node.operand)} {'NOT ' if node.negated else ''}BETWEEN "
                f"{unparse(node.low)} AND {unparse(node.high)})")
    if isinstance(node, A.Like):
        op = "SIMILAR TO" if node.similar else ("ILIKE" if node.case_insensitive else "LIKE")
        return f"({unparse(node.operand)} {'NOT ' if node.negated else ''}{op} {unparse(node.pattern)})"
    if isinstance(node, A.InList):
        items = ", ".join(unparse(i) for i in node.items)
        return f"({unparse(node.operand)} {'NOT ' if node.negated else ''}IN ({items}))"
    if isinstance(node, A.FuncCall):
        if node.star:
            args = "*"
        else:
            args = ("DISTINCT " if node.distinct else "") + ", ".join(unparse(a) for a in node.args)
        if node.name in ("current_date", "current_timestamp", "current_time", "localtime",
                         "localtimestamp", "current_user", "session_user", "current_role",
                         "current_catalog") and not node.args:
            return node.name.upper()
        return f"{node.name}({args})"
    if isinstance(node, A.Cast):
        return f"({unparse(node.operand)})::{type_text(node.type)}"
    if isinstance(node, A.Case):
        parts = ["CASE"]
        if node.operand is not None:
            parts.append(unparse(node.operand))
        for cond, result in node.whens:
            parts.append(f"WHEN {unparse(cond)} THEN {unparse(result)}")
        if node.default is not None:
            parts.append(f"ELSE {unparse(node.default)}")
        parts.append("END")
        return " ".join(parts)
    if isinstance(node, A.ArrayExpr):
        return "ARRAY[" + ", ".join(unparse(i) for i in node.items) + "]"
    if isinstance(node, A.RowExpr):
        return "ROW(" + ", ".join(unparse(i) for i in node.items) + ")"
    if isinstance(node, A.Collate):
        return unparse(node.operand)
    if isinstance(node, A.Subscript):
        return f"{unparse(node.operand)}[{unparse(node.index)}]"
    return "(subquery)"


def type_text(tn: A.TypeName) -> str:
    text = tn.name
    if tn.typmods:
        text += "(" + ",".join(str(m) for m in tn.typmods) + ")"
    return text + "[]" * tn.array_dims
