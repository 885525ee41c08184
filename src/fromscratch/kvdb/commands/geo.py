"""Geo commands: GEOADD, GEOPOS, GEODIST, GEOHASH, GEOSEARCH[STORE], GEORADIUS[BYMEMBER].

As in Redis, a geo set is not a type of its own: it is a sorted set whose scores are
52-bit geohashes (geohash.py). GEOADD is ZADD with each longitude and latitude turned
into a score, so ZRANGE, ZREM, TYPE and the rest work on geo sets, and the geo commands
on any sorted set, reading each score as a point.

A search by radius or box reads the score ranges of 9 geohash cells around the centre,
in Redis's order, and keeps the points inside the shape. Unless sorted (ASC, DESC, or
COUNT without ANY) the results come in that order, as in Redis.

Distances are replied as text with 4 decimals ("%.4f"), coordinates as Redis prints
long doubles ("%.17Lf" without trailing zeros): bulk strings in RESP2, doubles in RESP3.
"""

from __future__ import annotations

from fractions import Fraction

from ...resp import NULL_ARRAY, Encoded, ErrorReply
from .. import geohash
from ..longdouble import format_human
from ..pqsort import pqsort
from ..structures.sortedset import SortedSet
from ..table import command
from .sorted_sets import store
from .args import SYNTAX, c_long_long, parse_float, parse_int
from .sorted_sets import get_zset, zadd_generic

UNITS = {b"m": 1.0, b"km": 1000.0, b"ft": 0.3048, b"mi": 1609.34}     # in meters
UNKNOWN_UNIT = ErrorReply("ERR unsupported unit provided. please use M, KM, FT, MI")
UNKNOWN_MEMBER = ErrorReply("ERR could not decode requested zset member")


# -- arguments -----------------------------------------------------------------------------

def parse_point(longitude: bytes, latitude: bytes) -> tuple[float, float]:
    """A longitude and latitude Redis can index: both numbers are read, then checked."""
    point = parse_float(longitude), parse_float(latitude)
    if not (geohash.LONGITUDE_RANGE[0] <= point[0] <= geohash.LONGITUDE_RANGE[1]
            and geohash.LATITUDE_RANGE[0] <= point[1] <= geohash.LATITUDE_RANGE[1]):
        raise ErrorReply("ERR invalid longitude,latitude pair %f,%f" % point)
    return point


def parse_unit(arg: bytes) -> float:
    """A unit's length in meters."""
    meters = UNITS.get(arg.lower())
    if meters is None:
        raise UNKNOWN_UNIT
    return meters


def parse_size(arg: bytes, what: str) -> float:
    """A radius, width or height, its error naming which (callers check the sign)."""
    return parse_float(arg, ErrorReply(f"ERR need numeric {what}"))


def parse_radius(radius: bytes, unit: bytes) -> tuple[float, float]:
    """`radius unit` -> (radius, meters per unit)."""
    value = parse_size(radius, "radius")
    if value < 0:
        raise ErrorReply("ERR radius cannot be negative")
    return value, parse_unit(unit)


def parse_box(width: bytes, height: bytes, unit: bytes) -> tuple[float, float, float]:
    """`width height unit` -> (width, height, meters per unit)."""
    sizes = parse_size(width, "width"), parse_size(height, "height")
    if sizes[0] < 0 or sizes[1] < 0:
        raise ErrorReply("ERR height or width cannot be negative")
    return (*sizes, parse_unit(unit))


def member_point(zset: SortedSet, member: bytes) -> tuple[float, float]:
    """Where a member is: FROMMEMBER's and GEORADIUSBYMEMBER's centre."""
    score = zset.scores.get(member)
    if score is None:
        raise UNKNOWN_MEMBER
    return geohash.decode(score)


# -- replies -------------------------------------------------------------------------------

def format_distance(meters: float, conversion: float) -> bytes:
    return b"%.4f" % (meters / conversion)


def coordinate(client, value: float):
    """A coordinate as Redis sends it: its long double text ("13.36138933897018433"),
    as a bulk string in RESP2 and as a RESP3 double with that very text."""
    text = format_human(Fraction(value)).encode()
    return text if client.resp == 2 else Encoded(b",%s\r\n" % text)


# -- adding and reading points -------------------------------------------------------------

_GEOADD_OPTIONS = (b"NX", b"XX", b"CH")


@command("geoadd", arity=-5, flags="write denyoom", keys=(1, 1, 1), group="geo",
         since="3.2.0", summary="Adds one or more members to a geospatial index. The key is "
                                "created if it doesn't exist.",
         complexity="O(log(N)) for each item added, where N is the number of elements in "
                    "the sorted set.",
         syntax="key [condition: NX | XX] [CH] "
                "(longitude_latitude_member: longitude:double latitude:double member)...")
def geoadd(client, argv):
    first = 2
    while first < len(argv) and argv[first].upper() in _GEOADD_OPTIONS:
        first += 1
    options = {option.upper() for option in argv[2:first]}
    triples = argv[first:]
    if len(triples) % 3 or (b"NX" in options and b"XX" in options):
        raise SYNTAX
    # Redis runs ZADD with the options as given and each point turned into a score:
    # the same reply, and the same "zadd" notification.
    zadd_argv = [b"zadd", *argv[1:first]]
    for i in range(0, len(triples), 3):
        longitude, latitude = parse_point(triples[i], triples[i + 1])
        zadd_argv += [b"%d" % geohash.score_of(longitude, latitude), triples[i + 2]]
    return zadd_generic(client, zadd_argv)


@command("geopos", arity=-2, flags="readonly", keys=(1, 1, 1), group="geo", since="3.2.0",
         summary="Returns the longitude and latitude of members from a geospatial index.",
         complexity="O(1) for each member requested.", syntax="key member...")
def geopos(client, argv):
    zset = get_zset(client.db, argv[1])
    scores = zset.scores if zset is not None else {}
    reply = []
    for member in argv[2:]:
        score = scores.get(member)
        if score is None:
            reply.append(NULL_ARRAY)
        else:
            longitude, latitude = geohash.decode(score)
            reply.append([coordinate(client, longitude), coordinate(client, latitude)])
    return reply


@command("geodist", arity=-4, flags="readonly", keys=(1, 1, 1), group="geo", since="3.2.0",
         summary="Returns the distance between two members of a geospatial index.",
         complexity="O(1)", syntax="key member1 member2 [unit: M | KM | FT | MI]")
def geodist(client, argv):
    if len(argv) > 5:
        raise SYNTAX
    conversion = parse_unit(argv[4]) if len(argv) == 5 else 1.0
    zset = get_zset(client.db, argv[1])
    if zset is None:
        return None
    first, second = zset.scores.get(argv[2]), zset.scores.get(argv[3])
    if first is None or second is None:
        return None
    meters = geohash.distance(*geohash.decode(first), *geohash.decode(second))
    return format_distance(meters, conversion)


@command("geohash", arity=-2, flags="readonly", keys=(1, 1, 1), group="geo", since="3.2.0",
         summary="Returns members from a geospatial index as geohash strings.",
         complexity="O(1) for each member requested.", syntax="key member...")
def geohash_(client, argv):
    zset = get_zset(client.db, argv[1])
    scores = zset.scores if zset is not None else {}
    reply = []
    for member in argv[2:]:
        score = scores.get(member)
        reply.append(None if score is None
                     else geohash.standard_geohash(*geohash.decode(score)))
    return reply


# -- searching -----------------------------------------------------------------------------

class Found:
    """A point a search found."""

    __slots__ = ("member", "score", "longitude", "latitude", "distance")

    def __init__(self, member: bytes, score: float, longitude: float, latitude: float,
                 distance: float):
        self.member, self.score = member, score
        self.longitude, self.latitude, self.distance = longitude, latitude, distance


def search(zset: SortedSet, shape, limit: int) -> list[Found]:
    """The points of `zset` inside `shape`, cell after cell in Redis's order, each
    cell's in score order; with a `limit` (COUNT n ANY), the first `limit` found."""
    found: list[Found] = []
    previous = None
    for cell in geohash.search_cells(shape):
        # Around a huge area neighbouring cells can be the same cell; Redis skips one
        # that is the same as the cell it just read.
        if cell == previous:
            continue
        if limit and len(found) >= limit:
            break
        bits, step = cell
        low, high = geohash.align52(bits, step), geohash.align52(bits + 1, step)
        for member, score in zset.slice(*zset.score_window((low, False), (high, True))):
            longitude, latitude = geohash.decode(score)
            distance = shape.distance_if_inside(longitude, latitude)
            if distance is not None:
                found.append(Found(member, score, longitude, latitude, distance))
            if limit and len(found) >= limit:
                break
        previous = cell
    return found


class Query:
    """What a search command asked for, as its arguments were read."""

    def __init__(self):
        self.center = None                 # (longitude, latitude)
        self.circle = None                 # (radius, conversion)
        self.box = None                    # (width, height, conversion)
        self.from_member = self.from_point = False
        self.with_dist = self.with_hash = self.with_coord = False
        self.order = None                  # "asc", "desc" or None: as found
        self.count = 0                     # 0: all
        self.any = False
        self.destination = None
        self.store_dist = False

    def shape(self):
        longitude, latitude = self.center
        if self.circle is not None:
            return geohash.Circle(longitude, latitude, *self.circle)
        return geohash.Box(longitude, latitude, *self.box)


# The three ways of giving the centre and shape.
BY_COORDINATES = "coordinates"       # GEORADIUS key longitude latitude radius unit
BY_MEMBER = "member"                 # GEORADIUSBYMEMBER key member radius unit
GEOSEARCH = "geosearch"              # GEOSEARCH[STORE] ... FROMMEMBER | FROMLONLAT ...


def search_generic(client, argv, style: str, can_store: bool = False,
                   destination: bytes | None = None):
    """GEORADIUS[_RO], GEORADIUSBYMEMBER[_RO], GEOSEARCH and GEOSEARCHSTORE (which
    passes its `destination`); `can_store`: whether STORE and STOREDIST are options."""
    source = 2 if destination is not None else 1
    zset = get_zset(client.db, argv[source])
    query = Query()
    query.destination = destination
    if style == BY_COORDINATES:
        query.center = parse_point(argv[2], argv[3])
        query.circle = parse_radius(argv[4], argv[5])
        first_option = 6
    elif style == BY_MEMBER:
        # Without the key Redis reads neither the member nor the radius, only the
        # options, to learn whether to reply [] or 0 (STORE).
        if zset is not None:
            query.center = member_point(zset, argv[2])
            query.circle = parse_radius(argv[3], argv[4])
        first_option = 5
    else:
        first_option = source + 1
    _read_options(query, zset, argv, first_option, style == GEOSEARCH, can_store)

    if query.destination is not None and (query.with_dist or query.with_hash
                                          or query.with_coord):
        what = "GEOSEARCHSTORE" if destination is not None else "STORE option in GEORADIUS"
        raise ErrorReply(f"ERR {what} is not compatible with WITHDIST, WITHHASH and "
                         "WITHCOORD options")
    if style == GEOSEARCH:
        name = argv[0].decode("utf-8", "replace")       # as the client wrote it
        if not (query.from_member or query.from_point):
            raise ErrorReply("ERR exactly one of FROMMEMBER or FROMLONLAT can be "
                             f"specified for {name}")
        if query.circle is None and query.box is None:
            raise ErrorReply("ERR exactly one of BYRADIUS and BYBOX can be specified "
                             f"for {name}")
    if query.any and not query.count:
        raise ErrorReply("ERR the ANY argument requires COUNT argument")

    event = "geosearchstore" if style == GEOSEARCH else "georadiusstore"
    if zset is None:                  # no source: an empty reply, or the destination deleted
        if query.destination is None:
            return []
        return store(client, argv, query.destination, {}, event)
    # The nearest COUNT points need sorting; any COUNT points (ANY) do not.
    if query.count and query.order is None and not query.any:
        query.order = "asc"
    shape = query.shape()
    found = search(zset, shape, query.count if query.any else 0)
    if query.order is not None:
        _sort(found, query.order == "desc", query.count)
    if query.count:
        del found[query.count:]
    if query.destination is not None:
        if query.store_dist:
            scores = {point.member: point.distance / shape.conversion for point in found}
        else:
            scores = {point.member: point.score for point in found}
        return store(client, argv, query.destination, scores, event)
    return [_result(client, query, point, shape.conversion) for point in found]


def _compare_distances(a: Found, b: Found) -> int:
    """Redis's comparator: -1, 0 or 1 as `a` is nearer than, as near as, or farther
    than `b`."""
    return (a.distance > b.distance) - (a.distance < b.distance)


def _sort(found: list[Found], descending: bool, count: int) -> None:
    """Sort by distance as Redis does, down to the order of equal distances (points
    at one place): all of them with libc's qsort, a stable merge sort in glibc; only
    the first `count` when that leaves some out, with Redis's own partial quicksort."""
    if count and count < len(found):
        if descending:
            pqsort(found, lambda a, b: -_compare_distances(a, b), 0, count - 1)
        else:
            pqsort(found, _compare_distances, 0, count - 1)
    else:
        found.sort(key=lambda point: point.distance, reverse=descending)


def _read_options(query: Query, zset, argv, pos: int, geosearch: bool,
                  can_store: bool) -> None:
    """The options after the fixed arguments, in any order, as Redis reads them: a
    later one overrides an earlier one, except that FROMMEMBER and FROMLONLAT (or
    BYRADIUS and BYBOX) exclude each other."""
    while pos < len(argv):
        word = argv[pos].upper()
        left = len(argv) - pos - 1                     # arguments after this one
        if word == b"WITHDIST":
            query.with_dist = True
        elif word == b"WITHHASH":
            query.with_hash = True
        elif word == b"WITHCOORD":
            query.with_coord = True
        elif word == b"ANY":
            query.any = True
        elif word in (b"ASC", b"DESC"):
            query.order = word.decode().lower()
        elif word == b"COUNT" and left >= 1:
            query.count = parse_int(argv[pos + 1])
            if query.count <= 0:
                raise ErrorReply("ERR COUNT must be > 0")
            pos += 1
        elif word in (b"STORE", b"STOREDIST") and left >= 1 and can_store:
            query.destination = argv[pos + 1]
            query.store_dist = word == b"STOREDIST"
            pos += 1
        elif word == b"STOREDIST" and geosearch and query.destination is not None:
            query.store_dist = True                     # GEOSEARCHSTORE's flag
        elif word == b"FROMMEMBER" and left >= 1 and geosearch and not query.from_point:
            if zset is not None:                        # else Redis reads on
                query.center = member_point(zset, argv[pos + 1])
            query.from_member = True
            pos += 1
        elif word == b"FROMLONLAT" and left >= 2 and geosearch and not query.from_member:
            query.center = parse_point(argv[pos + 1], argv[pos + 2])
            query.from_point = True
            pos += 2
        elif word == b"BYRADIUS" and left >= 2 and geosearch and query.box is None:
            query.circle = parse_radius(argv[pos + 1], argv[pos + 2])
            pos += 2
        elif word == b"BYBOX" and left >= 3 and geosearch and query.circle is None:
            query.box = parse_box(argv[pos + 1], argv[pos + 2], argv[pos + 3])
            pos += 3
        else:
            raise SYNTAX
        pos += 1


def _result(client, query: Query, point: Found, conversion: float):
    """One point of a search's reply: its name, or [name, dist, hash, [lon, lat]] with
    those asked for, always in that order."""
    if not (query.with_dist or query.with_hash or query.with_coord):
        return point.member
    result = [point.member]
    if query.with_dist:
        result.append(format_distance(point.distance, conversion))
    if query.with_hash:
        result.append(c_long_long(point.score))     # WITHHASH: the score, as C casts it
    if query.with_coord:
        result.append([coordinate(client, point.longitude),
                       coordinate(client, point.latitude)])
    return result


_RADIUS_OPTIONS = ("[WITHCOORD] [WITHDIST] [WITHHASH] [count: COUNT count [ANY]] "
                   "[order: ASC | DESC]")
_STORE_OPTIONS = "[STORE key] [STOREDIST key]"
_UNIT = "(unit: M | KM | FT | MI)"
_SEARCH_AREA = (f"(from: FROMMEMBER member | (longitude_latitude: FROMLONLAT "
                f"longitude:double latitude:double)) (by: (circle: BYRADIUS radius:double "
                f"{_UNIT}) | (box: BYBOX width:double height:double {_UNIT})) "
                f"[order: ASC | DESC] [count: COUNT count [ANY]]")
_RADIUS_COMPLEXITY = ("O(N+log(M)) where N is the number of elements inside the bounding "
                      "box of the circular area delimited by center and radius and M is the "
                      "number of items inside the index.")
_SEARCH_COMPLEXITY = ("O(N+log(M)) where N is the number of elements in the grid-aligned "
                      "bounding box area around the shape provided as the filter and M is "
                      "the number of items inside the shape")


def _store_key(first_option: int):
    """The positions of GEORADIUS's STORE and STOREDIST keys, each the last given, as
    Redis's key specs find them."""
    def find(argv: list, fixed: list[int]) -> list[int]:
        found = {}
        for index in range(first_option, len(argv) - 1):
            word = argv[index].upper()
            if word in (b"STORE", b"STOREDIST"):
                found[word] = index + 1
        return fixed + [found[word] for word in (b"STORE", b"STOREDIST") if word in found]
    return find


@command("georadius", arity=-6, flags="write denyoom movablekeys", keys=(1, 1, 1),
         option_keys=_store_key(6), group="geo", since="3.2.0",
         summary="Queries a geospatial index for members within a distance from a "
                 "coordinate, optionally stores the result.",
         complexity=_RADIUS_COMPLEXITY,
         syntax=f"key longitude:double latitude:double radius:double {_UNIT} "
                f"{_RADIUS_OPTIONS} {_STORE_OPTIONS}")
def georadius(client, argv):
    return search_generic(client, argv, BY_COORDINATES, can_store=True)


@command("georadius_ro", arity=-6, flags="readonly", keys=(1, 1, 1), group="geo",
         since="3.2.10", summary="Returns members from a geospatial index that are within "
                                 "a distance from a coordinate.",
         complexity=_RADIUS_COMPLEXITY,
         syntax=f"key longitude:double latitude:double radius:double {_UNIT} "
                f"{_RADIUS_OPTIONS}")
def georadius_ro(client, argv):
    return search_generic(client, argv, BY_COORDINATES)


@command("georadiusbymember", arity=-5, flags="write denyoom movablekeys", keys=(1, 1, 1),
         option_keys=_store_key(5), group="geo", since="3.2.0",
         summary="Queries a geospatial index for members within a distance from a member, "
                 "optionally stores the result.",
         complexity=_RADIUS_COMPLEXITY,
         syntax=f"key member radius:double {_UNIT} {_RADIUS_OPTIONS} {_STORE_OPTIONS}")
def georadiusbymember(client, argv):
    return search_generic(client, argv, BY_MEMBER, can_store=True)


@command("georadiusbymember_ro", arity=-5, flags="readonly", keys=(1, 1, 1), group="geo",
         since="3.2.10", summary="Returns members from a geospatial index that are within "
                                 "a distance from a member.",
         complexity=_RADIUS_COMPLEXITY,
         syntax=f"key member radius:double {_UNIT} {_RADIUS_OPTIONS}")
def georadiusbymember_ro(client, argv):
    return search_generic(client, argv, BY_MEMBER)


@command("geosearch", arity=-7, flags="readonly", keys=(1, 1, 1), group="geo",
         since="6.2.0", summary="Queries a geospatial index for members inside an area of "
                                "a box or a circle.",
         complexity=_SEARCH_COMPLEXITY,
         syntax=f"key {_SEARCH_AREA} [WITHCOORD] [WITHDIST] [WITHHASH]")
def geosearch(client, argv):
    return search_generic(client, argv, GEOSEARCH)


@command("geosearchstore", arity=-8, flags="write denyoom", keys=(1, 2, 1), group="geo",
         since="6.2.0", summary="Queries a geospatial index for members inside an area of "
                                "a box or a circle, optionally stores the result.",
         complexity=_SEARCH_COMPLEXITY,
         syntax=f"destination source {_SEARCH_AREA} [STOREDIST]")
def geosearchstore(client, argv):
    return search_generic(client, argv, GEOSEARCH, destination=argv[1])
