"""RequestParser before a client authenticates (the limits Redis puts on strangers), and
what its query buffer holds (CLIENT LIST's qbuf, qbuf-free and argv-mem)."""

from fromscratch.resp import RequestParser


def test_an_unauthenticated_client_is_parsed_one_command_at_a_time():
    parser = RequestParser()
    parser.unauthenticated = True
    assert parser.feed(b"*1\r\n$4\r\nPING\r\nPING\r\n*1\r\n$4\r\nPING\r\n") == [[b"PING"]]
    assert parser.held_back
    assert parser.feed(b"") == [[b"PING"]]            # the inline one
    parser.unauthenticated = False                      # AUTH succeeded meanwhile
    assert parser.feed(b"") == [[b"PING"]] and not parser.held_back


def test_an_unauthenticated_client_may_send_only_small_commands():
    for frame, error in ((b"*11\r\n", "unauthenticated multibulk length"),
                         (b"*1\r\n$16385\r\n", "unauthenticated bulk length")):
        parser = RequestParser()
        parser.unauthenticated = True
        assert parser.feed(frame) == []
        assert parser.error == f"Protocol error: {error}"
    parser = RequestParser()
    parser.unauthenticated = True
    assert parser.feed(b"*1\r\n$16384\r\n" + b"x" * 16384 + b"\r\n") == [[b"x" * 16384]]


def test_a_large_bulk_string_reserves_its_whole_size_once_its_length_is_read():
    parser = RequestParser()
    assert parser.feed(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$40000\r\n" + b"v" * 100) == []
    assert (parser.query_buffer_bytes, parser.query_buffer_room) == (100, 40002)
    assert parser.argument_bytes == 4
    assert parser.feed(b"v" * 39_900) == []
    assert (parser.query_buffer_bytes, parser.query_buffer_room) == (40_000, 40002)
    assert parser.feed(b"\r\n") == [[b"SET", b"k", b"v" * 40_000]]
    assert (parser.query_buffer_bytes, parser.query_buffer_room, parser.argument_bytes) == (0, 0, 0)


def test_a_small_bulk_string_holds_only_what_came():
    parser = RequestParser()
    assert parser.feed(b"*2\r\n$4\r\nECHO\r\n$1000\r\n" + b"v" * 10) == []
    assert parser.query_buffer_bytes == parser.query_buffer_room == len(b"$1000\r\n") + 10
    assert parser.argument_bytes == 4
