"""The lexer and parser alone: tokens, precedence, statements, syntax errors."""

import pytest

from fromscratch.reldb.errors import SqlError
from fromscratch.reldb.sql import ast as A
from fromscratch.reldb.sql.lexer import tokenize
from fromscratch.reldb.sql.parser import parse, parse_expression


def kinds(text):
    return [(t.kind, t.value) for t in tokenize(text)][:-1]


def test_identifiers_fold_unless_quoted():
    assert kinds('SELECT "MiXed", Plain') == [("ident", "select"), ("qident", "MiXed"),
                                                ("punct", ","), ("ident", "plain")]


def test_string_forms():
    assert kinds("'it''s'") == [("string", "it's")]
    assert kinds(r"E'a\tb\x41'") == [("string", "a\tbA")]
    assert kinds("$$a 'b'$$ $x$c$x$") == [("string", "a 'b'"), ("string", "c")]
    assert kinds("'a'\n'b'") == [("string", "ab")]


def test_operators_split_like_postgresql():
    assert kinds("a=-1") == [("ident", "a"), ("op", "="), ("op", "-"), ("number", "1")]
    assert kinds("x->>'k'") == [("ident", "x"), ("op", "->>"), ("string", "k")]
    assert kinds("a::int") == [("ident", "a"), ("punct", "::"), ("ident", "int")]


def test_comments_and_parameters():
    assert kinds("SELECT /* a /* nested */ b */ $1 -- tail") == [("ident", "select"), ("param", 1)]


def test_unterminated_string_has_position():
    with pytest.raises(SqlError) as info:
        tokenize("SELECT 'abc")
    assert info.value.code == "42601" and info.value.position == 8


def test_precedence():
    e = parse_expression("1 + 2 * 3 = 7 AND NOT false OR x IS NULL")
    assert isinstance(e, A.BinaryOp) and e.op == "OR"
    left = e.left
    assert left.op == "AND" and isinstance(left.right, A.Not)
    assert left.left.op == "=" and left.left.left.op == "+" and left.left.left.right.op == "*"


def test_exponent_and_unary_minus():
    e = parse_expression("-2 ^ 2")
    assert isinstance(e, A.BinaryOp) and e.op == "^"
    assert e.left.value == "-2"


def test_between_in_like_cast():
    e = parse_expression("a BETWEEN 1 AND 2 AND b NOT IN (1, 2) AND c ILIKE 'x%' AND d::text = 'y'")
    parts = []
    while isinstance(e, A.BinaryOp) and e.op == "AND":
        parts.append(e.right)
        e = e.left
    parts.append(e)
    parts.reverse()
    assert isinstance(parts[0], A.Between)
    assert isinstance(parts[1], A.InList) and parts[1].negated
    assert isinstance(parts[2], A.Like) and parts[2].case_insensitive
    assert isinstance(parts[3].left, A.Cast)


def test_multiple_statements_keep_their_text():
    stmts = parse("SELECT 1; ; INSERT INTO t VALUES (1);")
    assert [text for _, text in stmts] == ["SELECT 1", "INSERT INTO t VALUES (1)"]
    assert isinstance(stmts[1][0], A.Insert)


def test_select_clauses():
    (q, _), = parse("SELECT DISTINCT ON (a) a, b AS bee FROM t JOIN u USING (id) "
                    "WHERE a > 1 GROUP BY 1 HAVING count(*) > 2 ORDER BY a DESC NULLS LAST "
                    "LIMIT 5 OFFSET 2")
    sel = q.body
    assert sel.distinct_on and sel.targets[1].alias == "bee"
    assert isinstance(sel.from_[0], A.Join) and sel.from_[0].using == ["id"]
    assert q.order_by[0].descending and q.order_by[0].nulls_first is False
    assert q.limit.value == "5" and q.offset.value == "2"


def test_create_table_constraints():
    (stmt, _), = parse("CREATE TABLE IF NOT EXISTS t (id serial PRIMARY KEY, n numeric(10,2) "
                       "NOT NULL DEFAULT 0 CHECK (n >= 0), p int REFERENCES q (id) ON DELETE "
                       "CASCADE, UNIQUE (n, p)) WITH (fillfactor=100)")
    assert stmt.if_not_exists
    id_col, n_col, p_col = stmt.columns
    assert id_col.primary_key and id_col.type.name == "serial"
    assert n_col.type.typmods == [10, 2] and n_col.not_null and n_col.check is not None
    assert p_col.references.on_delete == "cascade"
    assert stmt.constraints[0].kind == "unique"


def test_insert_on_conflict_and_update_from():
    (ins, _), = parse("INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO UPDATE SET b = excluded.b "
                      "WHERE t.c RETURNING *")
    assert ins.on_conflict.action == "update" and ins.returning
    (upd, _), = parse("UPDATE t SET a = u.a FROM u WHERE t.id = u.id")
    assert upd.table.alias is None and upd.from_


@pytest.mark.parametrize("sql,position", [("SELECT 1 FROM WHERE", 15), ("SELEC 1", 1),
                                           ("SELECT (1", None), ("SELECT 1 +", None)])
def test_syntax_errors(sql, position):
    with pytest.raises(SqlError) as info:
        parse(sql)
    assert info.value.code == "42601"
    if position:
        assert info.value.position == position


def test_deep_nesting_is_an_error_not_a_crash():
    with pytest.raises(SqlError) as info:
        parse("SELECT " + "(" * 5000 + "1" + ")" * 5000)
    assert info.value.code == "54001"
    with pytest.raises(SqlError):
        parse("SELECT " + "- " * 5000 + "1")
    with pytest.raises(SqlError):
        parse("SELECT " + "NOT " * 5000 + "true")


def _tokenize_by_the_full_rules(text):
    from fromscratch.reldb.sql.lexer import EOF, Token, _scan_token
    tokens, i = [], 0
    while i < len(text):
        i = _scan_token(text, i, tokens)
    tokens.append(Token(EOF, None, len(text)))
    return tokens


def _outcome(tokenizer, text):
    try:
        return [(t.kind, t.value, t.pos) for t in tokenizer(text)]
    except SqlError as exc:
        return ("error", exc.message, exc.position)


def test_the_fast_tokenizer_agrees_with_the_full_rules_on_random_text():
    import random
    from fromscratch.reldb.sql.lexer import tokenize
    rng = random.Random(7)
    pieces = ["a", "Zb", "e", "E", "u", "U", "x", "b", "n", "_", "$", "$1", "$q$", "é", "1",
              "42", "3.5", ".5", "1e5", "1_0", "'", "''", "'s'", "\\", '"', '"Q"', "&", " ",
              "\n", "\t", "--", "/*", "*/", "-", "+", "*", "/", "<", ">", "=", "<=", "<>",
              "!=", "!", "~", "@", "#", "%", "^", "|", "`", "?", "(", ")", "[", "]", ",",
              ";", ":", "::", ".", "..", "select", "WHERE"]
    for _ in range(20000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 12)))
        assert _outcome(tokenize, text) == _outcome(_tokenize_by_the_full_rules, text), text
