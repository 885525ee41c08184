"""Fuzzing the codec: random bytes, mutated and truncated frames, random chunking.

Properties checked:
* the readers never raise anything but ProtocolError, and never loop forever;
* feeding a stream in random pieces gives exactly what feeding it whole gives;
* a request parser that reports an error has not lost the commands before it.
"""

import random

import pytest

from fromscratch.resp import (INCOMPLETE, ProtocolError, ReplyReader, RequestParser, encode,
                              encode_command)

SEEDS = range(40)


def random_command(rng: random.Random) -> list[bytes]:
    alphabet = [b"a", b"\r", b"\n", b"\r\n", b"$", b"*", b" ", b"\x00", b"\xff", b'"']
    return [b"".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12)))
            for _ in range(rng.randrange(1, 6))]


def mutate(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randrange(1, 4)):
        choice = rng.randrange(4)
        position = rng.randrange(len(data) + 1)
        if choice == 0 and data:
            del data[min(position, len(data) - 1)]
        elif choice == 1:
            data.insert(position, rng.randrange(256))
        elif choice == 2 and data:
            data[min(position, len(data) - 1)] = rng.choice(b"*$:+-\r\n0123456789")
        else:
            data[position:position] = str(rng.randrange(-5, 2**40)).encode()
    return bytes(data)


def feed_in_pieces(rng, data: bytes):
    parser = RequestParser(max_bulk_len=1 << 20)
    commands = []
    position = 0
    while position < len(data):
        step = rng.randrange(1, 40)
        commands += parser.feed(data[position:position + step])
        position += step
    return commands, parser.error


@pytest.mark.parametrize("seed", SEEDS)
def test_request_parser_chunking_is_invisible(seed):
    rng = random.Random(seed)
    commands = [random_command(rng) for _ in range(20)]
    stream = b"".join(encode_command(c) for c in commands)
    got, error = feed_in_pieces(rng, stream)
    assert error is None
    assert got == commands


@pytest.mark.parametrize("seed", SEEDS)
def test_request_parser_on_mutated_streams(seed):
    rng = random.Random(seed)
    for _ in range(50):
        stream = b"".join(encode_command(random_command(rng)) for _ in range(5))
        broken = mutate(rng, stream)
        whole = RequestParser(max_bulk_len=1 << 20)
        expected = whole.feed(broken)
        got, error = feed_in_pieces(rng, broken)
        assert (got, error) == (expected, whole.error)
        assert all(isinstance(arg, bytes) for command in got for arg in command)


@pytest.mark.parametrize("seed", SEEDS)
def test_request_parser_on_random_bytes(seed):
    rng = random.Random(seed)
    for _ in range(50):
        parser = RequestParser(max_bulk_len=1 << 20)
        parser.feed(bytes(rng.randrange(256) for _ in range(rng.randrange(200))))
        assert parser.pending_bytes < 70000


def random_value(rng: random.Random, depth: int = 0):
    kinds = ["int", "bulk", "null", "bool", "double", "simple"]
    if depth < 4:
        kinds += ["array", "map", "push"]
    kind = rng.choice(kinds)
    if kind == "int":
        return rng.randrange(-2**63, 2**63)
    if kind == "bulk":
        return bytes(rng.randrange(256) for _ in range(rng.randrange(20)))
    if kind == "null":
        return None
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "double":
        return rng.uniform(-1e10, 1e10)
    if kind == "simple":
        from fromscratch.resp import SimpleString
        return SimpleString("".join(rng.choice("abcXYZ 09") for _ in range(rng.randrange(8))))
    items = [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == "array":
        return items
    if kind == "push":
        from fromscratch.resp import Push
        return Push(items)
    return {b"k%d" % i: item for i, item in enumerate(items)}


@pytest.mark.parametrize("seed", SEEDS)
def test_reply_reader_round_trip_and_mutations(seed):
    rng = random.Random(seed)
    for _ in range(30):
        value = random_value(rng)
        data = encode(value, 3)
        reader = ReplyReader()
        for i in range(0, len(data), 7):
            reader.feed(data[i:i + 7])
        assert reader.get() == value
        broken = ReplyReader(max_bulk_len=1 << 20)
        broken.feed(mutate(rng, data))
        try:
            for _ in range(100):
                if broken.get() is INCOMPLETE:
                    break
        except ProtocolError:
            pass
