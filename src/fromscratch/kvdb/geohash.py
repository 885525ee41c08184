"""Geohashes as Redis computes them, for the geo commands (commands/geo.py).

A point is stored as a sorted set score: a 52-bit geohash. The longitude range
-180..180 and the latitude range -85.05112878..85.05112878 (the limits of the Web
Mercator projection) are each cut in 2**26 equal steps; a point's two cell numbers have
their bits interleaved, latitude bits at the even positions and longitude bits at the
odd ones, so that the most significant bits name a large cell and each following pair
of bits one of its four quarters. Points close together thus tend to have close scores,
and every cell of a coarser grid (a "step" of 1 to 26 bits per coordinate) is one range
of scores.

A search covers its area with a cell of a step chosen from the radius and the 8 cells
around it, reads the 9 score ranges, and keeps the points that really are inside.

Every computation below is written in the same order of floating-point operations as
Redis's geohash.c and geohash_helper.c, so that scores, decoded coordinates and
distances come out identical to the last bit.
"""

from __future__ import annotations

import math

STEP_MAX = 26                                   # bits per coordinate in a score
LONGITUDE_RANGE = (-180.0, 180.0)
LATITUDE_RANGE = (-85.05112878, 85.05112878)    # what Redis can index
STANDARD_LATITUDE_RANGE = (-90.0, 90.0)         # what GEOHASH's strings are based on
EARTH_RADIUS = 6372797.560856                   # meters, as Redis has it
MERCATOR_MAX = 20037726.37                      # half the Earth's circumference, in meters
DEGREES_TO_RADIANS = math.pi / 180.0

# Bit positions of the two coordinates in an interleaved hash.
LATITUDE_BITS = 0x5555555555555555              # the even positions
LONGITUDE_BITS = 0xAAAAAAAAAAAAAAAA             # the odd positions

# The masks of the classic "spread bits apart" steps: each moves half of the bits
# still packed together, until they sit at the even positions of 64 bits.
_SPREAD_STEPS = ((16, 0x0000FFFF0000FFFF), (8, 0x00FF00FF00FF00FF),
                 (4, 0x0F0F0F0F0F0F0F0F), (2, 0x3333333333333333), (1, 0x5555555555555555))
_SQUASH_STEPS = ((1, 0x3333333333333333), (2, 0x0F0F0F0F0F0F0F0F),
                 (4, 0x00FF00FF00FF00FF), (8, 0x0000FFFF0000FFFF), (16, 0x00000000FFFFFFFF))


def _spread(value: int) -> int:
    """The bits of a 32-bit number moved to the even positions of 64: abcd -> 0a0b0c0d."""
    for shift, mask in _SPREAD_STEPS:
        value = (value | (value << shift)) & mask
    return value


def _squash(bits: int) -> int:
    """The even bits of a 64-bit number packed into 32: the inverse of _spread."""
    bits &= LATITUDE_BITS
    for shift, mask in _SQUASH_STEPS:
        bits = (bits | (bits >> shift)) & mask
    return bits


def interleave(latitude_cell: int, longitude_cell: int) -> int:
    return _spread(latitude_cell) | (_spread(longitude_cell) << 1)


# -- cells ---------------------------------------------------------------------------------

def encode(longitude: float, latitude: float, step: int,
           latitude_range: tuple = LATITUDE_RANGE) -> int:
    """The hash (2 * step bits) of the cell holding a point inside the ranges. A point
    on the upper edge of a range gets cell number 2**step, one past the last, as it
    does in Redis."""
    low, high = latitude_range
    latitude_offset = (latitude - low) / (high - low)
    longitude_offset = (longitude - LONGITUDE_RANGE[0]) / (LONGITUDE_RANGE[1] - LONGITUDE_RANGE[0])
    latitude_offset *= 1 << step
    longitude_offset *= 1 << step
    return interleave(int(latitude_offset), int(longitude_offset))


def align52(bits: int, step: int) -> int:
    """A hash of `step` bits per coordinate as a score: shifted to fill 52 bits."""
    return bits << (52 - step * 2)


def score_of(longitude: float, latitude: float) -> int:
    """The score GEOADD gives a point."""
    return align52(encode(longitude, latitude, STEP_MAX), STEP_MAX)


class Area:
    """The rectangle of one cell, in degrees."""

    __slots__ = ("longitude_min", "longitude_max", "latitude_min", "latitude_max")

    def __init__(self, bits: int, step: int):
        latitude_cell, longitude_cell = _squash(bits), _squash(bits >> 1)
        cells = float(1 << step)
        low, high = LATITUDE_RANGE
        self.latitude_min = low + (latitude_cell * 1.0 / cells) * (high - low)
        self.latitude_max = low + ((latitude_cell + 1) * 1.0 / cells) * (high - low)
        low, high = LONGITUDE_RANGE
        self.longitude_min = low + (longitude_cell * 1.0 / cells) * (high - low)
        self.longitude_max = low + ((longitude_cell + 1) * 1.0 / cells) * (high - low)

    def center(self) -> tuple[float, float]:
        """(longitude, latitude) of the middle, kept inside the ranges."""
        longitude = (self.longitude_min + self.longitude_max) / 2
        latitude = (self.latitude_min + self.latitude_max) / 2
        return (min(max(longitude, LONGITUDE_RANGE[0]), LONGITUDE_RANGE[1]),
                min(max(latitude, LATITUDE_RANGE[0]), LATITUDE_RANGE[1]))


def score_bits(score: float) -> int:
    """A score as the 64-bit hash C's (uint64_t) cast makes of it on x86-64, which is
    how Redis reads any sorted set score as a point: truncated, negative numbers
    wrapped around, and what no 64-bit integer holds (inf, 1e20) as the CPU answers."""
    if score >= 2.0 ** 64:
        return 0
    if score < -2.0 ** 63:
        return 1 << 63
    return int(score) & 0xFFFFFFFFFFFFFFFF


def decode(score: float) -> tuple[float, float]:
    """The (longitude, latitude) a score stands for: the centre of its cell, which is
    why GEOPOS gives back slightly different coordinates from those added."""
    return Area(score_bits(score), STEP_MAX).center()


def standard_geohash(longitude: float, latitude: float) -> bytes:
    """The usual 11-character base32 geohash of a point. It is based on the latitude
    range -90..90 rather than the one scores use, so the point is encoded again; the
    11th character stands for bits a score does not have, and is always 0."""
    alphabet = b"0123456789bcdefghjkmnpqrstuvwxyz"
    bits = encode(longitude, latitude, STEP_MAX, STANDARD_LATITUDE_RANGE)
    characters = [alphabet[(bits >> (52 - (i + 1) * 5)) & 0x1F] for i in range(10)]
    return bytes(characters) + b"0"


def _move(bits: int, step: int, axis: int, direction: int) -> int:
    """The cell next to `bits` along one axis (the LONGITUDE_BITS or LATITUDE_BITS
    positions), wrapping around at the edges. Adding 1 to the bits of one coordinate
    in place: the other coordinate's positions are filled with ones so that a carry (or
    a borrow) runs through them, then put back."""
    unused = 64 - step * 2
    other = ~axis & 0xFFFFFFFFFFFFFFFF
    moving, kept = bits & axis, bits & other
    gaps = other >> unused
    if direction > 0:
        moving = moving + (gaps + 1)
    else:
        moving = (moving | gaps) - (gaps + 1)
    return (moving & (axis >> unused)) | kept


def _neighbour(bits: int, step: int, east: int, north: int) -> int:
    if east:
        bits = _move(bits, step, LONGITUDE_BITS, east)
    if north:
        bits = _move(bits, step, LATITUDE_BITS, north)
    return bits


# The 9 cells of a search, in the order Redis reads them: (east, north) offsets.
_SEARCH_ORDER = (("centre", 0, 0), ("north", 0, 1), ("south", 0, -1), ("east", 1, 0),
                 ("west", -1, 0), ("north_east", 1, 1), ("north_west", -1, 1),
                 ("south_east", 1, -1), ("south_west", -1, -1))


# -- distances -----------------------------------------------------------------------------

def latitude_distance(latitude1: float, latitude2: float) -> float:
    """Meters between two latitudes along a meridian."""
    return EARTH_RADIUS * abs(latitude2 * DEGREES_TO_RADIANS - latitude1 * DEGREES_TO_RADIANS)


def distance(longitude1: float, latitude1: float, longitude2: float, latitude2: float) -> float:
    """Meters between two points on a sphere of Redis's radius: the haversine formula,
    with Redis's shortcut along a meridian."""
    lon1, lon2 = longitude1 * DEGREES_TO_RADIANS, longitude2 * DEGREES_TO_RADIANS
    v = math.sin((lon2 - lon1) / 2)
    if v == 0.0:
        return latitude_distance(latitude1, latitude2)
    lat1, lat2 = latitude1 * DEGREES_TO_RADIANS, latitude2 * DEGREES_TO_RADIANS
    u = math.sin((lat2 - lat1) / 2)
    a = u * u + math.cos(lat1) * math.cos(lat2) * v * v
    return 2.0 * EARTH_RADIUS * math.asin(math.sqrt(a))


# -- search areas --------------------------------------------------------------------------

class Circle:
    """Points within `radius` of a centre; the radius in a unit of `conversion` meters."""

    def __init__(self, longitude: float, latitude: float, radius: float, conversion: float):
        self.longitude, self.latitude = longitude, latitude
        self.conversion = conversion
        self.meters = radius * conversion            # once, not per point tested

    def half_sizes(self) -> tuple[float, float]:
        """Half the width and half the height of the area, in meters."""
        return self.meters, self.meters

    def reach(self) -> float:
        """Meters from the centre to the farthest point of the area."""
        return self.meters

    def distance_if_inside(self, longitude: float, latitude: float) -> float | None:
        meters = distance(self.longitude, self.latitude, longitude, latitude)
        return None if meters > self.meters else meters


class Box:
    """Points in a rectangle centred on a point, its sides along the meridian and the
    parallel through it; width and height in a unit of `conversion` meters."""

    def __init__(self, longitude: float, latitude: float, width: float, height: float,
                 conversion: float):
        self.longitude, self.latitude = longitude, latitude
        self.width, self.height, self.conversion = width, height, conversion
        # in meters, once, not per point tested (halving is exact: the same floats)
        self.half_width = width * conversion / 2
        self.half_height = height * conversion / 2

    def half_sizes(self) -> tuple[float, float]:
        return self.half_width, self.half_height

    def reach(self) -> float:
        half_width, half_height = self.width / 2, self.height / 2
        return math.sqrt(half_width * half_width + half_height * half_height) * self.conversion

    def distance_if_inside(self, longitude: float, latitude: float) -> float | None:
        # The latitude test is the cheaper one, so Redis makes it first.
        if latitude_distance(latitude, self.latitude) > self.half_height:
            return None
        along_parallel = distance(longitude, latitude, self.longitude, latitude)
        if along_parallel > self.half_width:
            return None
        return distance(self.longitude, self.latitude, longitude, latitude)


def _cos(angle: float) -> float:
    """C's cos: NaN for an infinite angle (an infinite radius leads there), where
    Python's raises ValueError."""
    return math.cos(angle) if math.isfinite(angle) else math.nan


def _bounding_box(shape) -> tuple[float, float, float, float]:
    """(min longitude, min latitude, max longitude, max latitude) around the shape.
    Meridians converge towards the pole, so the longitude span is taken at the edge
    nearer to it, where it is widest."""
    half_width, half_height = shape.half_sizes()
    latitude_delta = half_height / EARTH_RADIUS / DEGREES_TO_RADIANS
    top = (half_width / EARTH_RADIUS
           / _cos((shape.latitude + latitude_delta) * DEGREES_TO_RADIANS)) / DEGREES_TO_RADIANS
    bottom = (half_width / EARTH_RADIUS
              / _cos((shape.latitude - latitude_delta) * DEGREES_TO_RADIANS)) / DEGREES_TO_RADIANS
    longitude_delta = bottom if shape.latitude < 0 else top
    return (shape.longitude - longitude_delta, shape.latitude - latitude_delta,
            shape.longitude + longitude_delta, shape.latitude + latitude_delta)


def _estimate_step(reach: float, latitude: float) -> int:
    """The finest step whose cells are still larger than the search radius, roughly:
    each step halves a cell's size, starting from the Earth's half circumference."""
    if reach == 0:
        return STEP_MAX
    step = 1
    while reach < MERCATOR_MAX:
        reach *= 2
        step += 1
    step -= 2                      # a margin, so that the area fits in most cases
    # Cells get narrower towards the poles.
    if latitude > 66 or latitude < -66:
        step -= 1
        if latitude > 80 or latitude < -80:
            step -= 1
    return min(max(step, 1), STEP_MAX)


def _cells_around(shape, step: int) -> dict:
    centre = encode(shape.longitude, shape.latitude, step)
    return {name: _neighbour(centre, step, east, north)
            for name, east, north in _SEARCH_ORDER}


def search_cells(shape) -> list[tuple[int, int]]:
    """The (bits, step) cells to read for a search, in Redis's order: the centre's cell,
    then its neighbours, less those the shape's bounding box does not reach."""
    min_lon, min_lat, max_lon, max_lat = _bounding_box(shape)
    step = _estimate_step(shape.reach(), shape.latitude)
    cells = _cells_around(shape, step)
    # Near an edge of the centre's cell a neighbour can still be too small to hold
    # the rest of the area: then one step coarser does.
    if step > 1 and (Area(cells["north"], step).latitude_max < max_lat
                     or Area(cells["south"], step).latitude_min > min_lat
                     or Area(cells["east"], step).longitude_max < max_lon
                     or Area(cells["west"], step).longitude_min > min_lon):
        step -= 1
        cells = _cells_around(shape, step)
    if step >= 2:
        area = Area(cells["centre"], step)
        skipped = set()
        if area.latitude_min < min_lat:
            skipped.update(("south", "south_west", "south_east"))
        if area.latitude_max > max_lat:
            skipped.update(("north", "north_east", "north_west"))
        if area.longitude_min < min_lon:
            skipped.update(("west", "south_west", "north_west"))
        if area.longitude_max > max_lon:
            skipped.update(("east", "south_east", "north_east"))
    else:
        skipped = ()
    return [(cells[name], step) for name, _, _ in _SEARCH_ORDER if name not in skipped]
