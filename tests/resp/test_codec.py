"""The RESP codec without sockets: every type both ways, incremental input, errors."""

import math
import random

import pytest

from fromscratch.resp import (INCOMPLETE, NULL_ARRAY, Attributed, BigNumber, ErrorReply,
                              OrderedSet, ProtocolError, Push, ReplyReader, RequestParser, SimpleString,
                              Verbatim, encode, encode_command, split_inline)


# -- writing ---------------------------------------------------------------------------

@pytest.mark.parametrize("value, resp2, resp3", [
    (SimpleString("OK"), b"+OK\r\n", b"+OK\r\n"),
    ("text", b"$4\r\ntext\r\n", b"$4\r\ntext\r\n"),
    (ErrorReply("ERR bad"), b"-ERR bad\r\n", b"-ERR bad\r\n"),
    (42, b":42\r\n", b":42\r\n"),
    (-1, b":-1\r\n", b":-1\r\n"),
    (b"hi", b"$2\r\nhi\r\n", b"$2\r\nhi\r\n"),
    (b"", b"$0\r\n\r\n", b"$0\r\n\r\n"),
    (None, b"$-1\r\n", b"_\r\n"),
    (NULL_ARRAY, b"*-1\r\n", b"_\r\n"),
    ([b"a", 1], b"*2\r\n$1\r\na\r\n:1\r\n", b"*2\r\n$1\r\na\r\n:1\r\n"),
    ([], b"*0\r\n", b"*0\r\n"),
    (True, b":1\r\n", b"#t\r\n"),
    (False, b":0\r\n", b"#f\r\n"),
    (1.5, b"$3\r\n1.5\r\n", b",1.5\r\n"),
    (math.inf, b"$3\r\ninf\r\n", b",inf\r\n"),
    (-math.inf, b"$4\r\n-inf\r\n", b",-inf\r\n"),
    (BigNumber(2**70), b"$22\r\n1180591620717411303424\r\n", b"(1180591620717411303424\r\n"),
    (Verbatim("some text"), b"$9\r\nsome text\r\n", b"=13\r\ntxt:some text\r\n"),
    ({b"k": 1}, b"*2\r\n$1\r\nk\r\n:1\r\n", b"%1\r\n$1\r\nk\r\n:1\r\n"),
    (Push([b"message", b"c"]), b"*2\r\n$7\r\nmessage\r\n$1\r\nc\r\n",
     b">2\r\n$7\r\nmessage\r\n$1\r\nc\r\n"),
    (Attributed(b"v", {b"ttl": 5}), b"$1\r\nv\r\n", b"|1\r\n$3\r\nttl\r\n:5\r\n$1\r\nv\r\n"),
])
def test_encode_each_type(value, resp2, resp3):
    assert encode(value, 2) == resp2
    assert encode(value, 3) == resp3


def _element_by_element(value, protocol: int) -> bytes:
    """An aggregate written one element at a time: what the joined fast paths must equal."""
    headers = {dict: b"*" if protocol == 2 else b"%", set: b"*" if protocol == 2 else b"~",
               Push: b"*" if protocol == 2 else b">", list: b"*"}
    kind = type(value)
    if kind in headers:
        count = 2 * len(value) if kind is dict and protocol == 2 else len(value)
        elements = [part for pair in value.items() for part in pair] if kind is dict else value
        return headers[kind] + b"%d\r\n" % count + b"".join(
            _element_by_element(element, protocol) for element in elements)
    return encode(value, protocol)


@pytest.mark.parametrize("seed", range(20))
def test_aggregates_of_bulk_strings_equal_their_elements_one_by_one(seed):
    rng = random.Random(seed)

    def element():
        roll = rng.random()
        if roll < 0.8:                 # lengths alike, or not
            return b"x" * rng.choice((3, 3, 3, rng.randrange(0, 12)))
        return rng.choice((None, 7, b"y" * 9000, "text"))

    for _ in range(100):
        size = rng.randrange(0, 12)
        values = [[element() for _ in range(size)],
                  {b"k%d" % i: element() for i in range(size)},
                  {b"m%d" % rng.randrange(1000) for _ in range(size)},
                  Push([element() for _ in range(size)])]
        for value in values:
            for protocol in (2, 3):
                assert encode(value, protocol) == _element_by_element(value, protocol)


def test_encode_set_and_nan():
    assert encode({b"x"}, 3) == b"~1\r\n$1\r\nx\r\n"
    assert encode({b"x"}, 2) == b"*1\r\n$1\r\nx\r\n"
    assert encode(math.nan, 3) == b",nan\r\n"


def test_an_ordered_set_keeps_its_order():
    flags = OrderedSet([SimpleString("readonly"), SimpleString("fast")])
    assert encode(flags, 3) == b"~2\r\n+readonly\r\n+fast\r\n"
    assert encode(flags, 2) == b"*2\r\n+readonly\r\n+fast\r\n"


def test_line_breaks_never_leak_into_simple_strings():
    assert encode(ErrorReply("ERR a\r\nb"), 2) == b"-ERR a  b\r\n"


def test_encode_command():
    assert encode_command(["SET", b"k", 1, 2.5]) == (
        b"*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n1\r\n$3\r\n2.5\r\n")


# -- reading replies ------------------------------------------------------------------------

SAMPLES = [SimpleString("OK"), ErrorReply("ERR x"), 7, b"bulk", None, [b"a", [1, None]],
           True, False, 2.25, math.inf, BigNumber(-(2**80)), Verbatim("hello", "mkd"),
           {b"a": [1, 2], b"b": {b"c": None}}, {b"m"}, Push([b"pmessage", b"p*", b"c", b"m"]),
           Attributed([1, 2], {b"key-popularity": {b"a": 0.5}})]


@pytest.mark.parametrize("value", SAMPLES, ids=lambda v: type(v).__name__)
def test_round_trip_resp3(value):
    reader = ReplyReader()
    reader.feed(encode(value, 3))
    assert reader.get() == value
    assert reader.get() is INCOMPLETE


def test_reader_byte_by_byte():
    stream = b"".join(encode(value, 3) for value in SAMPLES)
    reader = ReplyReader()
    values = []
    for i in range(len(stream)):
        reader.feed(stream[i:i + 1])
        while (value := reader.get()) is not INCOMPLETE:
            values.append(value)
    assert values == SAMPLES


def test_reader_streamed_types():
    reader = ReplyReader()
    reader.feed(b"$?\r\n;4\r\nHell\r\n;1\r\no\r\n;0\r\n*?\r\n:1\r\n:2\r\n.\r\n")
    assert reader.get() == b"Hello"
    assert reader.get() == [1, 2]


@pytest.mark.parametrize("data", [b"?\r\n", b":12a\r\n", b"$3\r\nabcX\r\n", b",one\r\n",
                                  b"#x\r\n", b"_1\r\n", b"=3\r\nabc\r\n"])
def test_reader_refuses_malformed(data):
    reader = ReplyReader()
    reader.feed(data)
    with pytest.raises(ProtocolError):
        reader.get()


def test_reader_limits():
    reader = ReplyReader(max_bulk_len=10)
    reader.feed(b"$11\r\n")
    with pytest.raises(ProtocolError):
        reader.get()
    deep = ReplyReader(max_depth=50)
    deep.feed(b"*1\r\n" * 100 + b":1\r\n")
    with pytest.raises(ProtocolError):
        deep.get()


# -- parsing requests -------------------------------------------------------------------------

def test_requests_multibulk_and_inline():
    parser = RequestParser()
    data = encode_command([b"SET", b"k", b"v"]) + b"PING\r\n" + b"  get   k  \r\n" + b"\r\n"
    assert parser.feed(data) == [[b"SET", b"k", b"v"], [b"PING"], [b"get", b"k"]]
    assert parser.error is None


def test_requests_with_crlf_inside_arguments():
    parser = RequestParser()
    commands = [[b"SET", b"a\r\nb", b"\r\n"], [b"GET", b"x"], [b"SET", b"k", b"\r"]]
    assert parser.feed(b"".join(encode_command(c) for c in commands)) == commands


def test_requests_split_anywhere():
    commands = [[b"SET", b"key", b"x" * 100], [b"PING"], [b"MSET", b"a\r\n", b"1", b"b", b""]]
    stream = b"".join(encode_command(c) for c in commands) + b"ECHO hi\r\n"
    expected = commands + [[b"ECHO", b"hi"]]
    for cut in range(len(stream) + 1):
        parser = RequestParser()
        got = parser.feed(stream[:cut]) + parser.feed(stream[cut:])
        assert got == expected, cut


def test_big_argument_arrives_in_pieces():
    value = bytes(random.getrandbits(8) for _ in range(300_000))
    stream = encode_command([b"SET", b"k", value])
    parser = RequestParser()
    got = []
    for start in range(0, len(stream), 1000):
        got += parser.feed(stream[start:start + 1000])
        assert parser.pending_bytes <= len(stream)
    assert got == [[b"SET", b"k", value]]


def test_empty_multibulk_is_ignored():
    parser = RequestParser()
    assert parser.feed(b"*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n") == [[b"PING"]]


@pytest.mark.parametrize("data, error", [
    (b"*1\r\n+PING\r\n", "Protocol error: expected '$', got '+'"),
    (b"*abc\r\n", "Protocol error: invalid multibulk length"),
    (b"*3000000000\r\n", "Protocol error: invalid multibulk length"),
    (b"*1\r\n$-1\r\n", "Protocol error: invalid bulk length"),
    (b"*1\r\n$x\r\n", "Protocol error: invalid bulk length"),
    (b"*1\r\n$600000000\r\n", "Protocol error: invalid bulk length"),
    (b"SET \"unterminated\r\n", "Protocol error: unbalanced quotes in request"),
    (b"x" * 70000, "Protocol error: too big inline request"),
    (b"*" + b"1" * 70000, "Protocol error: too big mbulk count string"),
])
def test_protocol_errors_as_redis_words_them(data, error):
    parser = RequestParser()
    parser.feed(data)
    assert parser.error == error


def test_commands_before_an_error_are_kept():
    parser = RequestParser()
    assert parser.feed(b"PING\r\n*1\r\n:1\r\n") == [[b"PING"]]
    assert parser.error is not None
    assert parser.feed(b"PING\r\n") == []          # nothing after an error


def test_giant_lengths_are_refused_before_allocating():
    parser = RequestParser(max_bulk_len=1024 * 1024)
    parser.feed(b"*1\r\n$1048577\r\n")
    assert parser.error == "Protocol error: invalid bulk length"
    lying = RequestParser()
    assert lying.feed(b"*2147483647\r\n$1\r\na\r\n") == []
    assert lying.error is None and lying.pending_bytes < 100


@pytest.mark.parametrize("line, words", [
    (b'set k "a b"', [b"set", b"k", b"a b"]),
    (b'set k "\\x41\\n\\t\\\\"', [b"set", b"k", b"A\n\t\\"]),
    (b"set k 'it\\'s'", [b"set", b"k", b"it's"]),
    (b'set k ""', [b"set", b"k", b""]),
    (b"a\tb", [b"a", b"b"]),
])
def test_inline_quoting_like_redis_cli(line, words):
    assert split_inline(line) == words


@pytest.mark.parametrize("line", [b'set "a"b', b"set 'a", b'set "a'])
def test_inline_unbalanced_quotes(line):
    with pytest.raises(ProtocolError):
        split_inline(line)


def test_inline_nul_ends_the_line():
    # Redis splits inline commands as a C string: nothing after a NUL byte counts.
    assert split_inline(b"set k v\x00 ignored") == [b"set", b"k", b"v"]
    with pytest.raises(ProtocolError):
        split_inline(b'set "k\x00 v" x')          # the quote is left open


def test_plain_str_is_a_bulk_string_and_simple_string_a_status():
    # Redis answers map keys and most text as bulk strings; only statuses use `+`.
    assert encode("summary", 2) == b"$7\r\nsummary\r\n"
    assert encode({"k": SimpleString("v")}, 3) == b"%1\r\n$1\r\nk\r\n+v\r\n"


@pytest.mark.parametrize("commands", [
    [[b"SET", b"key:%d" % i, b"v" * i] for i in range(20)],                # one shape
    [[b"SET", b"k", b"a\r\nb"]] + [[b"SET", b"k", b"v"]] * 19,             # CRLF inside
    [[b"SET", b"k", b"v"]] * 10 + [[b"GET", b"k"]] * 10,                   # two shapes
    [[b"SET", b"k", b"x" * 9000]] * 3 + [[b"SET", b"k", b"v"]] * 10,       # a long one
    [[b"PING"]] * 30,
])
def test_pipelines_of_one_shape_and_their_fallbacks(commands):
    stream = b"".join(encode_command(c) for c in commands)
    assert RequestParser().feed(stream) == commands
    parser = RequestParser()                                    # and cut mid-way
    assert parser.feed(stream[:len(stream) // 2]) + parser.feed(stream[len(stream) // 2:]) == commands
