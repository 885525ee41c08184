"""Plan shapes: the planner's choices, seen through EXPLAIN."""

import pytest



@pytest.fixture
def session(engine):
    s = engine.new_session()
    s.connect("postgres", "postgres", {})
    for sql in ("CREATE TABLE a (id int PRIMARY KEY, b_id int, v text)",
                "CREATE TABLE b (id int PRIMARY KEY, w text)",
                "CREATE INDEX a_b_idx ON a (b_id)"):
        list(s.simple_query(sql))
    return s


def plan(session, sql):
    result, = list(session.simple_query("EXPLAIN " + sql))
    return [row[0] for row in result.rows]


def test_equality_on_the_primary_key_is_an_index_lookup(session):
    assert plan(session, "SELECT v FROM a WHERE id = 3")[0].startswith("Index Scan using a_pkey")


def test_secondary_index_lookup(session):
    assert "Index Scan using a_b_idx on a" in plan(session, "SELECT * FROM a WHERE b_id = 1")[0]


def test_range_condition_on_an_indexed_column_is_an_index_range_scan(session):
    lines = plan(session, "SELECT v FROM a WHERE id > 3 AND v <> 'x'")
    assert lines == ["Index Scan using a_pkey on a", "  Index Cond: (id > 3)",
                     "  Filter: (v <> 'x')"]


def test_condition_on_an_unindexed_column_is_a_filtered_seq_scan(session):
    assert plan(session, "SELECT id FROM a WHERE v > 'm'") == ["Seq Scan on a",
                                                                "  Filter: (v > 'm')"]


def test_order_by_an_indexed_column_with_limit_needs_no_sort(session):
    lines = plan(session, "SELECT v FROM a ORDER BY id DESC LIMIT 3")
    assert lines == ["Limit", "  ->  Index Scan Backward using a_pkey on a"]


def test_equi_join_is_a_hash_join_with_filters_pushed_down(session):
    lines = plan(session, "SELECT * FROM a JOIN b ON a.b_id = b.id WHERE b.w > 'x' AND a.v > 'm'")
    assert lines[0] == "Hash Join"
    text = "\n".join(lines)
    assert "Seq Scan on a" in text and "Seq Scan on b" in text
    assert text.count("Filter") == 2          # each condition sits on its own table


def test_a_selective_outer_side_makes_an_index_nested_loop(session):
    lines = plan(session, "SELECT * FROM a JOIN b ON a.b_id = b.id WHERE b.w = 'x'")
    assert lines == ["Nested Loop", "  ->  Seq Scan on b", "        Filter: (b.w = 'x')",
                     "  ->  Index Scan using a_b_idx on a",
                     "        Index Cond: (a.b_id = b.id)"]


def test_comma_join_with_where_equality_is_a_hash_join(session):
    assert plan(session, "SELECT * FROM a, b WHERE a.b_id = b.id")[0] == "Hash Join"


def test_non_equi_join_is_a_nested_loop(session):
    assert plan(session, "SELECT * FROM a JOIN b ON a.b_id < b.id")[0].startswith("Nested Loop")


def test_left_join_keeps_its_kind(session):
    assert plan(session, "SELECT * FROM a LEFT JOIN b ON a.b_id = b.id")[0] == "Hash Left Join"


def test_aggregate_sort_limit(session):
    lines = plan(session, "SELECT b_id, count(*) FROM a GROUP BY b_id ORDER BY 2 DESC LIMIT 3")
    assert lines[0] == "Limit" and "Sort" in lines[1] and "HashAggregate" in "\n".join(lines)


def test_uncorrelated_subquery_runs_once(session):
    list(session.simple_query("INSERT INTO a SELECT g, g % 3, 'v' FROM generate_series(1, 50) g"))
    list(session.simple_query("INSERT INTO b SELECT g, 'w' FROM generate_series(0, 2) g"))
    result, = list(session.simple_query(
        "SELECT count(*) FROM a WHERE b_id IN (SELECT id FROM b WHERE w = 'w')"))
    assert result.rows == [(50,)]


def test_explain_analyze_shows_each_nodes_rows_and_loops(session):
    list(session.simple_query("INSERT INTO a SELECT g, g % 3, 'v' || g FROM generate_series(1, 30) g"))
    lines = plan(session, "ANALYZE SELECT count(*) FROM a WHERE b_id = 1 AND v > 'v2'")
    actual = [line for line in lines if "(actual time=" in line]
    assert len(actual) == 2 and actual[0].startswith("Aggregate") and "rows=1 loops=1" in actual[0]
    kept = sum(1 for g in range(1, 31) if g % 3 == 1 and f"v{g}" > "v2")
    assert f"rows={kept} loops=1" in actual[1]
    assert f"Rows Removed by Filter: {10 - kept}" in "\n".join(lines)
    assert lines[-2].startswith("Planning Time: ") and lines[-1].startswith("Execution Time: ")


def test_analyze_bounds_make_a_narrow_range_an_index_scan_and_a_wide_one_a_seq_scan(session):
    list(session.simple_query("INSERT INTO a SELECT g, g % 50, 'v' FROM generate_series(1, 5000) g"))
    list(session.simple_query("ANALYZE a"))
    assert plan(session, "SELECT v FROM a WHERE id > 4990")[0] == "Index Scan using a_pkey on a"
    assert plan(session, "SELECT v FROM a WHERE id > 10")[0] == "Seq Scan on a"


def test_a_hash_index_answers_equality(session):
    list(session.simple_query("CREATE TABLE h (k text, v int)"))
    list(session.simple_query("CREATE INDEX h_k ON h USING hash (k)"))
    assert plan(session, "SELECT v FROM h WHERE k = 'x'")[0] == "Index Scan using h_k on h"
