"""Geo commands through redis-py, against our server and real Redis alike.

A geo set is a sorted set scored by 52-bit geohashes, so the exact scores, the decoded
coordinates (cell centres, not the coordinates added), the distances ("%.4f") and the
geohash strings are all compared as numbers or text, not approximately. redis-py
reshapes some replies by protocol (tuples or lists, str or bytes), hence `pairs()` and
`text()`; the exact wire forms are checked with the `wire` client.

The places: the classic Palermo and Catania example, and four more Sicilian towns.
"""

import re
import time

import pytest
import redis

from compat_tests.kvdb.conftest import connect

PLACES = {
    "Palermo": (13.361389, 38.115556),
    "Catania": (15.087269, 37.502669),
    "Agrigento": (13.5765, 37.3110),
    "Messina": (15.5542, 38.1938),
    "Syracuse": (15.2866, 37.0755),
    "Trapani": (12.5137, 38.0176),
}
# What Redis stores for them: the geohash scores, and the centres of those cells.
SCORES = {
    "Palermo": 3479099956230698, "Catania": 3479447370796909,
    "Agrigento": 3479029876085710, "Messina": 3479616592812947,
    "Syracuse": 3476514830710512, "Trapani": 3478970013080140,
}
PALERMO = (13.361389338970184, 38.1155563954963)
CATANIA = (15.087267458438873, 37.50266842333162)


@pytest.fixture
def sicily(r):
    values = [item for name, (lon, lat) in PLACES.items() for item in (lon, lat, name)]
    assert r.geoadd("Sicily", values) == len(PLACES)
    return r


def pairs(reply) -> list:
    """GEOPOS-style coordinates as tuples (redis-py gives lists in RESP3)."""
    return [tuple(item) if item is not None else None for item in reply]


def text(reply) -> list:
    """Strings as str (redis-py gives GEOHASH's as bytes in RESP3)."""
    return [item.decode() if isinstance(item, bytes) else item for item in reply]


def error(message: str):
    """Expect exactly this error message (without its ERR prefix, as redis-py gives it)."""
    return pytest.raises(redis.ResponseError, match="^" + re.escape(message) + "$")


# -- GEOADD: a sorted set scored by geohash ------------------------------------------------

def test_a_geo_set_is_a_sorted_set_of_geohashes(sicily):
    r = sicily
    assert r.type("Sicily") == b"zset"
    assert r.zcard("Sicily") == 6
    assert {member.decode(): score for member, score in
            r.zrange("Sicily", 0, -1, withscores=True)} == SCORES
    assert r.zrange("Sicily", 0, -1) == [b"Syracuse", b"Trapani", b"Agrigento", b"Palermo",
                                         b"Catania", b"Messina"]
    assert r.zscore("Sicily", "Palermo") == 3479099956230698
    assert r.zrem("Sicily", "Trapani") == 1
    assert r.geopos("Sicily", "Trapani") == [None]


def test_geoadd_edges_of_the_map(r):
    assert r.geoadd("g", [180, 85.05112878, "ne", -180, -85.05112878, "sw", 0, 0, "zero"]) == 3
    assert r.zscore("g", "sw") == 0
    assert r.zscore("g", "zero") == 3377699720527872
    # The upper edges fall one cell past the last: scores beyond 52 bits, read back
    # at the edge itself.
    assert r.zscore("g", "ne") == 13510798882111488
    assert pairs(r.geopos("g", "ne", "sw")) == [(180.0, 85.0511287799999991),
                                                (-179.99999731779099, -85.05112751263943)]


def test_geoadd_conditions(r):
    assert r.geoadd("g", [1, 2, "a"]) == 1
    assert r.geoadd("g", [1, 2, "a"]) == 0                       # same place, no change
    assert r.geoadd("g", [3, 4, "a", 5, 6, "b"], nx=True) == 1   # only b is added
    assert r.zscore("g", "a") == 3378080408407459
    assert r.geoadd("g", [7, 8, "a", 9, 10, "c"], xx=True) == 0  # a moves, c is not added
    assert r.zscore("g", "c") is None
    assert r.zscore("g", "a") != 3378080408407459
    assert r.geoadd("g", [11, 12, "a", 13, 14, "d"], ch=True) == 2   # a changed, d added
    assert r.geoadd("missing", [1, 2, "a"], xx=True) == 0
    assert r.exists("missing") == 0
    assert r.execute_command("GEOADD", "g", "CH", "CH", "11", "12", "a") == 0


@pytest.mark.parametrize("args, message", [
    (["200", "10", "x"], "invalid longitude,latitude pair 200.000000,10.000000"),
    (["10", "-85.06", "x"], "invalid longitude,latitude pair 10.000000,-85.060000"),
    (["inf", "10", "x"], "invalid longitude,latitude pair inf,10.000000"),
    (["1", "2", "a", "10", "86", "b"], "invalid longitude,latitude pair 10.000000,86.000000"),
    (["abc", "200", "x"], "value is not a valid float"),
    (["1", "2", "a", "3"], "syntax error"),
    (["NX", "XX", "1", "2", "a"], "syntax error"),
    (["GT", "1", "2", "a"], "syntax error"),
    (["NX", "CH", "XX"], "syntax error"),
    (["NX", "CH", "CH"], "syntax error"),
])
def test_geoadd_errors(r, args, message):
    with error(message):
        r.execute_command("GEOADD", "g", *args)
    assert r.exists("g") == 0                  # nothing added when one point is wrong


def test_geoadd_checks_points_before_the_key_type(r):
    r.set("s", "x")
    with error("invalid longitude,latitude pair 200.000000,2.000000"):
        r.execute_command("GEOADD", "s", "200", "2", "x")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.geoadd("s", [1, 2, "x"])
    with error("wrong number of arguments for 'geoadd' command"):
        r.execute_command("GEOADD", "g", "1", "2")


# -- GEOPOS, GEODIST, GEOHASH --------------------------------------------------------------

def test_geopos_gives_the_centre_of_the_cell(sicily):
    r = sicily
    assert pairs(r.geopos("Sicily", "Palermo", "nope", "Catania")) == [PALERMO, None, CATANIA]
    assert r.geopos("nokey", "a", "b") == [None, None]
    assert r.execute_command("GEOPOS", "Sicily") == []


def test_geopos_on_the_wire(sicily, wire, protocol):
    reply = wire.call("GEOPOS", "Sicily", "Palermo", "nope")
    if protocol == 3:
        assert reply == b"*2\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n_\r\n"
    else:
        assert reply == (b"*2\r\n*2\r\n$20\r\n13.36138933897018433\r\n"
                         b"$20\r\n38.11555639549629859\r\n*-1\r\n")


def test_geopos_reads_any_score(r):
    r.zadd("z", {"zero": 0, "one": 1, "negative": -5, "huge": 1e20})
    assert pairs(r.geopos("z", "zero", "one", "negative", "huge")) == [
        (-179.99999731779099, -85.05112751263943), (-179.99999731779099, -85.05112497791825),
        (180.0, 85.0511287799999991), (-179.99999731779099, -85.05112751263943)]
    assert text(r.geohash("z", "zero", "one", "negative")) == [
        "00bh0hbj200", "00bh0hbj210", "bp05b5048p0"]


@pytest.mark.parametrize("unit, distance", [
    (None, 166274.1516), ("m", 166274.1516), ("km", 166.2742), ("mi", 103.3182),
    ("ft", 545518.87)])
def test_geodist(sicily, unit, distance):
    assert sicily.geodist("Sicily", "Palermo", "Catania", unit) == distance
    if unit is not None:                    # redis-py accepts lower case units only
        assert float(sicily.execute_command("GEODIST", "Sicily", "Palermo", "Catania",
                                            unit.upper())) == distance


def test_geodist_replies(sicily, wire):
    assert wire.call("GEODIST", "Sicily", "Palermo", "Catania", "ft") == b"$11\r\n545518.8700\r\n"
    assert wire.call("GEODIST", "Sicily", "Palermo", "Palermo") == b"$6\r\n0.0000\r\n"
    r = sicily
    assert r.geodist("Sicily", "Palermo", "nope") is None
    assert r.geodist("nokey", "a", "b") is None
    r.geoadd("meridian", [10, 20, "a", 10, 30, "b", 10, -40, "c"])
    assert r.geodist("meridian", "a", "b") == 1112262.9623
    assert r.geodist("meridian", "a", "c", "mi") == 4146.7795


def test_geodist_errors(sicily):
    r = sicily
    with error("unsupported unit provided. please use M, KM, FT, MI"):
        r.execute_command("GEODIST", "Sicily", "Palermo", "Catania", "yards")
    with error("syntax error"):
        r.execute_command("GEODIST", "Sicily", "Palermo", "Catania", "km", "extra")
    with error("unsupported unit provided. please use M, KM, FT, MI"):
        r.execute_command("GEODIST", "nokey", "a", "b", "yards")   # the unit comes first
    r.set("s", "x")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.geodist("s", "a", "b")


def test_geohash(sicily):
    r = sicily
    assert text(r.geohash("Sicily", "Palermo", "Catania", "Agrigento", "nope")) == [
        "sqc8b49rny0", "sqdtr74hyu0", "sq9skbq0760", None]
    assert r.geohash("nokey", "a") == [None]
    assert r.execute_command("GEOHASH", "Sicily") == []
    r.set("s", "x")
    for name in ("GEOHASH", "GEOPOS"):
        with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
            r.execute_command(name, "s", "a")


# -- GEOSEARCH -----------------------------------------------------------------------------

def test_geosearch_by_radius(sicily):
    r = sicily
    assert r.geosearch("Sicily", longitude=15, latitude=37, radius=200, unit="km",
                       sort="ASC") == [b"Syracuse", b"Catania", b"Agrigento", b"Messina",
                                       b"Palermo"]
    assert r.geosearch("Sicily", longitude=15, latitude=37, radius=200, unit="km",
                       sort="DESC") == [b"Palermo", b"Messina", b"Agrigento", b"Catania",
                                        b"Syracuse"]
    assert r.geosearch("Sicily", member="Catania", radius=60, unit="km", sort="ASC") == [
        b"Catania", b"Syracuse"]
    assert r.geosearch("Sicily", longitude=15, latitude=37, radius=1, unit="m") == []
    assert r.geosearch("nokey", longitude=15, latitude=37, radius=1, unit="m") == []
    assert r.geosearch("nokey", member="nope", radius=1, unit="m") == []


def test_geosearch_unsorted_order_is_redis_order(sicily):
    # Cell after cell around the centre, each in score order.
    assert sicily.geosearch("Sicily", longitude=15, latitude=37, radius=200, unit="km") == [
        b"Syracuse", b"Agrigento", b"Palermo", b"Catania", b"Messina"]


def test_geosearch_by_box(sicily):
    r = sicily
    assert r.geosearch("Sicily", member="Palermo", width=200, height=100, unit="km",
                       withdist=True, sort="ASC") == [[b"Palermo", 0.0], [b"Trapani", 75.0255]]
    assert r.geosearch("Sicily", member="Palermo", width=400, height=400, unit="km",
                       sort="DESC") == [b"Syracuse", b"Messina", b"Catania", b"Agrigento",
                                        b"Trapani", b"Palermo"]
    assert r.geosearch("Sicily", longitude=15, latitude=37, width=1, height=1,
                       unit="km") == []


def test_geosearch_with_options(sicily):
    r = sicily
    assert r.geosearch("Sicily", longitude=15, latitude=37, radius=100, unit="km",
                       withcoord=True, withdist=True, withhash=True, sort="ASC") == [
        [b"Syracuse", 26.7955, 3476514830710512, (15.28659850358963, 37.07549947051171)],
        [b"Catania", 56.4413, 3479447370796909, CATANIA]]
    assert r.geosearch("Sicily", longitude=15, latitude=37, radius=100, unit="km",
                       withhash=True, sort="ASC") == [[b"Syracuse", 3476514830710512],
                                                      [b"Catania", 3479447370796909]]
    # The distance is in the unit of the query.
    assert r.geosearch("Sicily", member="Palermo", radius=100, unit="mi", withdist=True,
                       sort="ASC") == [[b"Palermo", 0.0], [b"Trapani", 46.6188],
                                       [b"Agrigento", 56.8354]]


def test_geosearch_reply_on_the_wire(sicily, wire, protocol):
    reply = wire.call("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "30", "km",
                      "WITHCOORD", "WITHHASH", "WITHDIST")
    # Always [name, dist, hash, [lon, lat]], whatever the order of the options.
    if protocol == 3:
        assert reply == (b"*1\r\n*4\r\n$8\r\nSyracuse\r\n$7\r\n26.7955\r\n"
                         b":3476514830710512\r\n*2\r\n,15.28659850358963013\r\n"
                         b",37.07549947051170847\r\n")
    else:
        assert reply == (b"*1\r\n*4\r\n$8\r\nSyracuse\r\n$7\r\n26.7955\r\n"
                         b":3476514830710512\r\n*2\r\n$20\r\n15.28659850358963013\r\n"
                         b"$20\r\n37.07549947051170847\r\n")


def test_geosearch_count(sicily):
    r = sicily
    # COUNT alone gives the nearest, sorted; with ANY, the first found, as found.
    assert r.geosearch("Sicily", longitude=15, latitude=37, radius=200, unit="km",
                       count=2) == [b"Syracuse", b"Catania"]
    assert r.geosearch("Sicily", longitude=15, latitude=37, radius=200, unit="km",
                       count=2, sort="DESC") == [b"Palermo", b"Messina"]
    assert r.geosearch("Sicily", longitude=15, latitude=37, radius=200, unit="km",
                       count=2, any=True) == [b"Syracuse", b"Agrigento"]
    assert r.geosearch("Sicily", longitude=15, latitude=37, radius=200, unit="km",
                       count=3, any=True, sort="DESC") == [b"Palermo", b"Agrigento",
                                                          b"Syracuse"]
    assert r.geosearch("Sicily", longitude=15, latitude=37, radius=200, unit="km",
                       count=100) == [b"Syracuse", b"Catania", b"Agrigento", b"Messina",
                                      b"Palermo"]


def test_count_orders_points_at_one_place_as_redis_does(r):
    r.geoadd("g", [10, 10, "a", 10, 10, "b", 10, 10, "c", 10, 10, "d", 10, 10, "e",
                   10, 10, "f", 10.001, 10, "g", 10, 10.001, "h", 9.999, 10, "i",
                   10, 9.999, "j"])
    # A full sort keeps equal distances in the order found (by score, then name)...
    assert r.geosearch("g", longitude=10, latitude=10, radius=1, unit="km",
                       sort="ASC")[:6] == [b"a", b"b", b"c", b"d", b"e", b"f"]
    # ...the partial sort for a COUNT that leaves points out does not.
    assert r.geosearch("g", longitude=10, latitude=10, radius=1, unit="km", count=3) == [
        b"f", b"d", b"e"]
    assert r.geosearch("g", longitude=10, latitude=10, radius=1, unit="km", count=8,
                       sort="DESC") == [b"j", b"h", b"i", b"g", b"c", b"d", b"a", b"f"]


def test_geosearch_across_the_antimeridian_and_near_the_pole(r):
    r.geoadd("g", [179.9999, 10, "east", -179.9999, 10, "west", 0, 85.05, "north",
                   90, 85.05, "north2", -90, -85.05, "south"])
    assert r.geosearch("g", longitude=-180, latitude=10, width=100, height=100, unit="km",
                       withdist=True) == [[b"west", 0.0109], [b"east", 0.0109]]
    assert r.geosearch("g", longitude=0, latitude=85, radius=10000, unit="km",
                       withdist=True) == [[b"north", 5.5613], [b"east", 9454.2354],
                                          [b"north2", 782.0739], [b"west", 9454.2354]]
    assert r.geosearch("g", longitude=0, latitude=0, radius=100000, unit="km",
                       sort="ASC") == [b"north", b"south", b"north2", b"east", b"west"]
    assert r.execute_command("GEOSEARCH", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "inf",
                             "km") == [b"north", b"east", b"north2", b"west", b"south"]


@pytest.mark.parametrize("args, message", [
    (["FROMLONLAT", "15", "37", "WITHDIST", "WITHCOORD"],
     "exactly one of BYRADIUS and BYBOX can be specified for GEOSEARCH"),
    (["BYRADIUS", "1", "km", "WITHDIST", "WITHHASH"],
     "exactly one of FROMMEMBER or FROMLONLAT can be specified for GEOSEARCH"),
    (["FROMMEMBER", "Palermo", "WITHDIST", "WITHHASH", "x"], "syntax error"),
    (["FROMMEMBER", "Palermo", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "km"], "syntax error"),
    (["FROMLONLAT", "1", "2", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km"], "syntax error"),
    (["FROMLONLAT", "1", "2", "BYRADIUS", "1", "km", "BYBOX", "1", "1", "km"], "syntax error"),
    (["FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "STORE", "x"], "syntax error"),
    (["FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "STOREDIST"], "syntax error"),
    (["FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "COUNT"], "syntax error"),
    (["FROMMEMBER", "nope", "BYRADIUS", "1", "km"], "could not decode requested zset member"),
    (["FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "ANY"],
     "the ANY argument requires COUNT argument"),
    (["FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "COUNT", "0"], "COUNT must be > 0"),
    (["FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "COUNT", "-3"], "COUNT must be > 0"),
    (["FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "COUNT", "x"],
     "value is not an integer or out of range"),
    (["FROMMEMBER", "Palermo", "BYRADIUS", "-1", "km"], "radius cannot be negative"),
    (["FROMMEMBER", "Palermo", "BYRADIUS", "x", "km"], "need numeric radius"),
    (["FROMMEMBER", "Palermo", "BYRADIUS", "1", "yards"],
     "unsupported unit provided. please use M, KM, FT, MI"),
    (["FROMMEMBER", "Palermo", "BYBOX", "1", "-1", "km"], "height or width cannot be negative"),
    (["FROMMEMBER", "Palermo", "BYBOX", "a", "1", "km"], "need numeric width"),
    (["FROMMEMBER", "Palermo", "BYBOX", "1", "a", "km"], "need numeric height"),
    (["FROMLONLAT", "200", "10", "BYRADIUS", "1", "km"],
     "invalid longitude,latitude pair 200.000000,10.000000"),
    (["FROMLONLAT", "x", "10", "BYRADIUS", "1", "km"], "value is not a valid float"),
])
def test_geosearch_errors(sicily, args, message):
    with error(message):
        sicily.execute_command("GEOSEARCH", "Sicily", *args)


def test_geosearch_errors_without_the_key(r):
    # A missing key still has its arguments checked, except FROMMEMBER's member.
    with error("exactly one of BYRADIUS and BYBOX can be specified for geosearch"):
        r.execute_command("geosearch", "nokey", "frommember", "x", "withdist", "withhash",
                          "withcoord")
    with error("syntax error"):
        r.execute_command("GEOSEARCH", "nokey", "FROMMEMBER", "x", "BYRADIUS", "1", "km", "x")
    with error("radius cannot be negative"):
        r.execute_command("GEOSEARCH", "nokey", "FROMMEMBER", "x", "BYRADIUS", "-1", "km")
    r.set("s", "x")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.execute_command("GEOSEARCH", "s", "FROMLONLAT", "300", "0", "BYRADIUS", "1", "km")


# -- GEOSEARCHSTORE ------------------------------------------------------------------------

def test_geosearchstore(sicily):
    r = sicily
    assert r.geosearchstore("dst", "Sicily", member="Catania", radius=100, unit="km") == 3
    assert {member: score for member, score in r.zrange("dst", 0, -1, withscores=True)} == {
        b"Catania": SCORES["Catania"], b"Syracuse": SCORES["Syracuse"],
        b"Messina": SCORES["Messina"]}
    assert r.geosearchstore("dst", "Sicily", member="Catania", radius=100, unit="km",
                            storedist=True) == 3
    assert [(member, round(score, 9)) for member, score in
            r.zrange("dst", 0, -1, withscores=True)] == [
        (b"Catania", 0.0), (b"Syracuse", 50.680928361), (b"Messina", 87.126903801)]
    assert r.geosearchstore("dst", "Sicily", member="Catania", radius=100, unit="km",
                            count=1, sort="DESC") == 1
    assert r.zrange("dst", 0, -1) == [b"Messina"]


def test_geosearchstore_replaces_or_deletes_the_destination(sicily):
    r = sicily
    r.set("dst", "a string")
    r.expire("dst", 100)
    assert r.geosearchstore("dst", "Sicily", member="Palermo", radius=1, unit="km") == 1
    assert r.type("dst") == b"zset" and r.ttl("dst") == -1
    assert r.geosearchstore("dst", "Sicily", longitude=0, latitude=0, radius=1,
                            unit="m") == 0
    assert r.exists("dst") == 0
    r.set("dst", "x")
    assert r.geosearchstore("dst", "nokey", member="Palermo", radius=1, unit="km") == 0
    assert r.exists("dst") == 0
    # The destination can be the source.
    assert r.geosearchstore("Sicily", "Sicily", longitude=15, latitude=37, radius=60,
                            unit="km") == 2
    assert r.zrange("Sicily", 0, -1) == [b"Syracuse", b"Catania"]


def test_geosearchstore_errors(sicily):
    r = sicily
    with error("GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD "
               "options"):
        r.execute_command("GEOSEARCHSTORE", "d", "Sicily", "FROMMEMBER", "Palermo",
                          "BYRADIUS", "1", "km", "WITHDIST")
    with error("syntax error"):
        r.execute_command("GEOSEARCHSTORE", "d", "Sicily", "FROMMEMBER", "Palermo",
                          "BYRADIUS", "1", "km", "STORE", "x")
    with error("exactly one of BYRADIUS and BYBOX can be specified for GEOSEARCHSTORE"):
        r.execute_command("GEOSEARCHSTORE", "d", "Sicily", "FROMMEMBER", "Palermo",
                          "COUNT", "1", "STOREDIST")
    r.set("s", "x")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.execute_command("GEOSEARCHSTORE", "d", "s", "FROMMEMBER", "x", "BYRADIUS", "1", "km")
    assert r.get("s") == b"x"


# -- GEORADIUS and GEORADIUSBYMEMBER -------------------------------------------------------

def test_georadius(sicily):
    r = sicily
    assert r.georadius("Sicily", 15, 37, 200, "km", sort="ASC") == [
        b"Syracuse", b"Catania", b"Agrigento", b"Messina", b"Palermo"]
    assert r.georadius("Sicily", 15, 37, 200, "km", withdist=True, sort="ASC", count=2) == [
        [b"Syracuse", 26.7955], [b"Catania", 56.4413]]
    assert r.georadius("Sicily", 15, 37, 60, "km", withcoord=True, sort="DESC") == [
        [b"Catania", CATANIA], [b"Syracuse", (15.28659850358963, 37.07549947051171)]]
    assert r.execute_command("GEORADIUS_RO", "Sicily", "15", "37", "60", "km", "ASC") == [
        b"Syracuse", b"Catania"]
    assert r.georadius("nokey", 15, 37, 200, "km") == []


def test_georadiusbymember(sicily):
    r = sicily
    assert r.georadiusbymember("Sicily", "Palermo", 100, "km", withdist=True) == [
        [b"Trapani", 75.0255], [b"Agrigento", 91.4675], [b"Palermo", 0.0]]
    assert r.georadiusbymember("Sicily", "Palermo", 100, "km", withhash=True, count=1) == [
        [b"Palermo", SCORES["Palermo"]]]
    assert r.execute_command("GEORADIUSBYMEMBER_RO", "Sicily", "Palermo", "80", "km",
                             "DESC") == [b"Trapani", b"Palermo"]
    with error("could not decode requested zset member"):
        r.georadiusbymember("Sicily", "nope", 100, "km")
    # Without the key, neither the member nor the radius is read.
    assert r.execute_command("GEORADIUSBYMEMBER", "nokey", "nope", "-5", "yards") == []


def test_georadius_store(sicily):
    r = sicily
    assert r.georadius("Sicily", 15, 37, 200, "km", store="dst") == 5
    assert r.zscore("dst", "Palermo") == SCORES["Palermo"]
    assert r.georadius("Sicily", 15, 37, 200, "km", store_dist="dst", count=2) == 2
    assert [(member, round(score, 4)) for member, score in
            r.zrange("dst", 0, -1, withscores=True)] == [(b"Syracuse", 26.7955),
                                                         (b"Catania", 56.4413)]
    assert r.georadiusbymember("Sicily", "Palermo", 80, "km", store="dst") == 2
    assert r.zrange("dst", 0, -1) == [b"Trapani", b"Palermo"]
    assert r.georadius("Sicily", 15, 37, 1, "m", store="dst") == 0
    assert r.exists("dst") == 0
    r.set("dst", "x")
    assert r.georadiusbymember("nokey", "nope", 1, "km", store="dst") == 0
    assert r.exists("dst") == 0


@pytest.mark.parametrize("command, args, message", [
    ("GEORADIUS", ["15", "37", "200", "km", "WITHDIST", "STORE", "d"],
     "STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD "
     "options"),
    ("GEORADIUSBYMEMBER", ["Palermo", "200", "km", "STOREDIST", "d", "WITHCOORD"],
     "STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD "
     "options"),
    ("GEORADIUS_RO", ["15", "37", "200", "km", "STORE", "d"], "syntax error"),
    ("GEORADIUSBYMEMBER_RO", ["Palermo", "200", "km", "STOREDIST", "d"], "syntax error"),
    ("GEORADIUS", ["15", "37", "200", "km", "STORE"], "syntax error"),
    ("GEORADIUS", ["15", "37", "200", "km", "FROMMEMBER", "Palermo"], "syntax error"),
    ("GEORADIUS", ["15", "37", "200", "km", "BYBOX", "1", "1", "km"], "syntax error"),
    ("GEORADIUS", ["200", "37", "200", "km"],
     "invalid longitude,latitude pair 200.000000,37.000000"),
    ("GEORADIUS", ["15", "37", "-200", "km"], "radius cannot be negative"),
    ("GEORADIUS", ["15", "37", "x", "km"], "need numeric radius"),
    ("GEORADIUS", ["15", "37", "200", "yards"],
     "unsupported unit provided. please use M, KM, FT, MI"),
    ("GEORADIUS", ["15", "37", "200", "km", "ANY"], "the ANY argument requires COUNT argument"),
    ("GEORADIUSBYMEMBER", ["Palermo", "200", "km", "COUNT", "0"], "COUNT must be > 0"),
    ("GEORADIUSBYMEMBER", ["Palermo", "200"],
     "wrong number of arguments for 'georadiusbymember' command"),
])
def test_georadius_errors(sicily, command, args, message):
    with error(message):
        sicily.execute_command(command, "Sicily", *args)


def test_search_commands_check_the_key_type_first(r):
    r.set("s", "x")
    for args in (["GEORADIUS", "s", "300", "0", "1", "km"],
                 ["GEORADIUSBYMEMBER", "s", "nope", "-1", "km"],
                 ["GEOSEARCH", "s", "BYRADIUS", "1", "km", "x", "y"]):
        with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
            r.execute_command(*args)


# -- notifications -------------------------------------------------------------------------

def test_notifications(sicily, server, protocol):
    r = sicily
    listener = connect(server, protocol).pubsub(ignore_subscribe_messages=True)
    listener.psubscribe("__keyevent@0__:*")
    r.config_set("notify-keyspace-events", "Ezg")
    try:
        r.geoadd("g", [1, 2, "a"])
        r.geoadd("g", [1, 2, "a"])                               # no change: no event
        r.geosearchstore("d1", "g", member="a", radius=1, unit="km")
        r.georadius("g", 1, 2, 1, "km", store="d2")
        r.georadiusbymember("g", "a", 1, "km", store_dist="d2")
        r.georadius("g", 50, 50, 1, "km", store="d2")           # nothing found: deleted
        r.geosearchstore("d1", "nokey", member="a", radius=1, unit="km")
        seen, deadline = [], time.monotonic() + 5
        while len(seen) < 6 and time.monotonic() < deadline:
            message = listener.get_message(timeout=0.1)
            if message is not None:
                seen.append((message["channel"].decode().split(":", 1)[1],
                             message["data"].decode()))
        assert seen == [("zadd", "g"), ("geosearchstore", "d1"), ("georadiusstore", "d2"),
                        ("georadiusstore", "d2"), ("del", "d2"), ("del", "d1")]
    finally:
        r.config_set("notify-keyspace-events", "")
        listener.close()
