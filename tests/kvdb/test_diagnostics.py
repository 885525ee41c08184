"""LATENCY GRAPH's sparkline, drawn as Redis's sparkline.c draws it."""

from fromscratch.kvdb.diagnostics import GRAPH_COLUMNS, sparkline


def test_a_sparkline_as_redis_draws_it():
    # What redis-server 7.0.15 drew for these five samples, one a second.
    samples = [(50, "5s"), (200, "4s"), (15, "3s"), (120, "2s"), (300, "1s")]
    assert sparkline(samples) == ("    #\n"
                                  " o  |\n"
                                  " | o|\n"
                                  "o|_||\n"
                                  "     \n"
                                  "54321\n"
                                  "sssss\n")


def test_one_sample_or_equal_ones_sit_on_the_bottom_row():
    assert sparkline([(120, "0s")]) == " \n \n \n_\n \n0\ns\n"
    assert sparkline([(7, "1m"), (7, "12m")]) == "  \n  \n  \n__\n  \n11\nm2\n m\n"


def test_a_long_series_wraps_every_80_columns_on_one_scale():
    samples = [(value, "") for value in range(GRAPH_COLUMNS + 5)]
    lines = sparkline(samples).split("\n")
    first, second = lines[:4], lines[5:9]               # no labels: no margin under them
    assert [len(line) for line in first] == [GRAPH_COLUMNS] * 4
    assert lines[4] == ""                               # the blank line between the parts
    assert [len(line) for line in second] == [5] * 4 and lines[9:] == [""]
    assert first[0].endswith("#") and second[0] == "#####"   # the top of the whole scale
    assert first[3].startswith("_")
