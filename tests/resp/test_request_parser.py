"""RequestParser before a client authenticates (the limits Redis puts on strangers)."""

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
