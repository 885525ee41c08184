"""The request parser's layout path: a client that keeps sending commands laid out
alike (same argument count and lengths) has them cut by one regular expression. These
tests feed reads of repeating sizes, which is what makes the parser learn a layout,
and check that what comes out is always exactly what was sent."""

import random

import pytest

from fromscratch.resp import RequestParser, encode_command
from fromscratch.resp.reader import Layout, layout_of


def feed_reads(parser, reads):
    return [parser.feed(read) for read in reads]


def test_a_repeated_read_is_cut_by_its_layout():
    parser = RequestParser()
    read = encode_command([b"GET", b"key:000000000042"]) * 16
    results = feed_reads(parser, [read] * 4)
    assert all(result == [[b"GET", b"key:000000000042"]] * 16 for result in results)
    assert parser._layout is not None and parser._layout.size * 16 == len(read)


def test_single_commands_of_one_layout():
    parser = RequestParser()
    reads = [encode_command([b"INCR", b"counter:%04d" % i]) for i in range(10)]
    assert feed_reads(parser, reads) == [[[b"INCR", b"counter:%04d" % i]] for i in range(10)]
    assert parser._layout is not None


def test_arguments_holding_crlf_and_headers():
    value = b"\r\n*3\r\n$3\r\nSET\r\n"          # looks like the start of a command
    parser = RequestParser()
    read = encode_command([b"SET", b"k", value]) * 3
    assert feed_reads(parser, [read] * 3) == [[[b"SET", b"k", value]] * 3] * 3


def test_same_size_other_layout_falls_back():
    parser = RequestParser()
    first = encode_command([b"SET", b"ab", b"c"])
    other = encode_command([b"SET", b"a", b"bc"])       # the same size, laid out otherwise
    assert len(first) == len(other)
    assert feed_reads(parser, [first, first, other, first]) == [
        [[b"SET", b"ab", b"c"]], [[b"SET", b"ab", b"c"]], [[b"SET", b"a", b"bc"]],
        [[b"SET", b"ab", b"c"]]]


def test_a_multiple_of_the_size_that_is_not_a_run():
    parser = RequestParser()
    one = encode_command([b"SET", b"key", b"value"])
    feed_reads(parser, [one, one])                       # learns SET's layout
    # Two commands of other layouts whose sizes add up to twice SET's.
    commands = [[b"SET", b"k", b"v" * 4], [b"SET", b"ke", b"w" * 9]]
    mixed = b"".join(map(encode_command, commands))
    assert len(mixed) == 2 * len(one)
    assert parser.feed(mixed) == commands


def test_a_partial_command_after_a_run():
    parser = RequestParser()
    one = encode_command([b"GET", b"k"])
    feed_reads(parser, [one, one])
    assert parser.feed(one * 3 + one[:5]) == [[b"GET", b"k"]] * 3
    assert parser.feed(one[5:]) == [[b"GET", b"k"]]


def test_layouts_are_shared_and_big_commands_have_none():
    assert layout_of([b"GET", b"a"]) is layout_of([b"DEL", b"b"])
    assert layout_of([b"SET", b"k", b"x" * 20000]) is None
    assert layout_of([b"x"] * 40) is None
    assert Layout((1, 0)).size == len(encode_command([b"x", b""]))


def test_one_argument_commands():
    parser = RequestParser()
    read = encode_command([b"PING"]) * 5
    assert feed_reads(parser, [read] * 3) == [[[b"PING"]] * 5] * 3


def test_unauthenticated_clients_never_take_the_layout_path():
    parser = RequestParser()
    parser.unauthenticated = True
    read = encode_command([b"AUTH", b"pw"]) * 2
    assert parser.feed(read) == [[b"AUTH", b"pw"]]       # one at a time, as always
    assert parser.held_back


@pytest.mark.parametrize("seed", range(30))
def test_reads_of_repeating_sizes_give_what_was_sent(seed):
    """Random commands from a few layouts (values with CRLF, `$`, `*` in them), sent
    as reads that often repeat their size, sometimes cut mid-command."""
    rng = random.Random(seed)
    alphabet = [b"a", b"\r", b"\n", b"\r\n", b"$", b"*", b"1"]

    def value(length):
        return b"".join(rng.choice(alphabet) for _ in range(length))[:length].ljust(length, b"x")

    layouts = [[rng.randrange(0, 6) for _ in range(rng.randrange(1, 4))] for _ in range(3)]
    sent = []
    stream = b""
    for _ in range(200):
        lengths = rng.choice(layouts)
        command = [value(length) for length in lengths]
        sent.append(command)
        stream += encode_command(command)
    parser = RequestParser()
    got = []
    position = 0
    step = rng.randrange(1, 80)
    while position < len(stream):
        if rng.random() < 0.2:
            step = rng.randrange(1, 80)                 # mostly the same size again
        got += parser.feed(stream[position:position + step])
        position += step
    assert parser.error is None
    assert got == sent


@pytest.mark.parametrize("seed", range(30))
def test_reads_of_whole_commands_mostly_alike(seed):
    """Reads of whole commands, mostly of one layout, now and then another layout or a
    value holding CRLF: every read is parsed exactly, whichever path takes it."""
    rng = random.Random(seed)
    shapes = [[b"GET", b"key:%06d"], [b"SET", b"key:%06d", b"xxx"], [b"SET", b"k%d", b"a\r\nb"]]
    parser = RequestParser()
    for _ in range(100):
        per_read = rng.choice((1, 1, 16, rng.randrange(1, 20)))
        shape = shapes[0] if rng.random() < 0.7 else rng.choice(shapes)
        read_commands = []
        for _ in range(per_read):
            if rng.random() < 0.1:
                shape = rng.choice(shapes)
            read_commands.append([part % rng.randrange(10**6) if b"%" in part else part
                                  for part in shape])
        read = b"".join(encode_command(command) for command in read_commands)
        assert parser.feed(read) == read_commands
    assert parser._layout is not None
