"""Server-assisted client-side caching (CLIENT TRACKING), on our server and on real
Redis, over bare RESP connections: the invalidations are pushes (RESP3) or pub/sub
messages on `__redis__:invalidate` (RESP2 with REDIRECT), and their exact shape is
what is tested."""

import socket
import time

import pytest

from fromscratch.resp import INCOMPLETE, ErrorReply, Push, ReplyReader, encode_command

INVALIDATE = b"__redis__:invalidate"


class Conn:
    """A RESP connection that keeps the pushes it meets apart from the replies."""

    def __init__(self, server, protocol: int = 3):
        self.sock = socket.create_connection((server.host, server.port), timeout=5)
        self.reader = ReplyReader()
        self.pushes: list = []
        if protocol == 3:
            self("HELLO", "3")
        self.id = self("CLIENT", "ID")

    def _next(self, timeout: float):
        self.sock.settimeout(timeout)
        while True:
            value = self.reader.get()
            if value is not INCOMPLETE:
                return value
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("server closed the connection")
            self.reader.feed(data)

    def __call__(self, *args):
        """Send a command; its reply (an ErrorReply is returned, not raised)."""
        self.sock.sendall(encode_command(args))
        while True:
            value = self._next(5)
            if type(value) is not Push:
                return value
            self.pushes.append(value)

    def push(self, timeout: float = 2.0):
        """The next push (or, on a subscribed RESP2 connection, message)."""
        if self.pushes:
            return self.pushes.pop(0)
        return self._next(timeout)

    def quiet(self, wait: float = 0.2) -> bool:
        """True if nothing more arrives (what does is kept for `push`)."""
        if self.pushes:
            return False
        try:
            self.pushes.append(self._next(wait))
        except socket.timeout:
            return True
        return False

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def conn(server):
    """Opens connections to the server under test (flushed first), closed afterwards."""
    opened = []

    def open_conn(protocol: int = 3) -> Conn:
        connection = Conn(server, protocol)
        opened.append(connection)
        return connection

    open_conn(2)("FLUSHALL")
    yield open_conn
    for connection in opened:
        connection.close()


def invalidate(*keys):
    return Push([b"invalidate", list(keys)])


def test_default_mode_invalidates_read_keys_once(conn):
    tracker, writer = conn(), conn(2)
    assert tracker("CLIENT", "TRACKING", "ON") == "OK"
    assert tracker("GET", "a") is None
    assert tracker("MGET", "b", "c") == [None, None]
    writer("SET", "a", "1")
    assert tracker.push() == invalidate(b"a")
    writer("MSET", "b", "1", "c", "2", "unread", "3")
    assert tracker.push() == invalidate(b"b")
    assert tracker.push() == invalidate(b"c")
    writer("SET", "a", "2")                         # one-shot: a was not read again
    assert tracker.quiet()
    assert tracker("GET", "a") == b"2"
    writer("DEL", "a")
    assert tracker.push() == invalidate(b"a")


def test_own_write_invalidates_after_the_reply(conn):
    tracker = conn()
    tracker("CLIENT", "TRACKING", "ON")
    tracker("GET", "k")
    assert tracker("SET", "k", "v") == "OK"
    assert tracker.pushes == []                     # the push came after the reply
    assert tracker.push() == invalidate(b"k")


def test_expiry_and_writes_of_every_type_invalidate(conn):
    tracker, writer = conn(), conn(2)
    writer("SET", "short", "v", "PX", "50")
    writer("RPUSH", "list", "x")
    tracker("CLIENT", "TRACKING", "ON")
    tracker("GET", "short")
    tracker("LRANGE", "list", "0", "-1")
    writer("LPOP", "list")
    assert tracker.push() == invalidate(b"list")
    time.sleep(0.1)
    assert writer("GET", "short") is None           # expired on lookup
    assert tracker.push() == invalidate(b"short")


def test_reads_inside_scripts_are_tracked(conn):
    tracker, writer = conn(), conn(2)
    tracker("CLIENT", "TRACKING", "ON")
    tracker("EVAL", "return redis.call('GET', KEYS[1])", "1", "read")
    tracker("EVAL_RO", "return 1", "1", "untouched")     # only the script's own reads
    writer("MSET", "read", "1", "untouched", "2")
    assert tracker.push() == invalidate(b"read")
    assert tracker.quiet()


def test_writes_alone_are_not_tracked(conn):
    tracker, writer = conn(), conn(2)
    tracker("CLIENT", "TRACKING", "ON")
    tracker("SET", "k", "v")
    tracker("INCR", "n")
    writer("SET", "k", "w")
    writer("INCR", "n")
    assert tracker.quiet()


def test_flushall_and_flushdb_invalidate_everything(conn):
    tracker, writer = conn(), conn(2)
    tracker("CLIENT", "TRACKING", "ON")
    writer("FLUSHALL")
    assert tracker.push() == Push([b"invalidate", None])
    writer("FLUSHDB")
    assert tracker.push() == Push([b"invalidate", None])
    tracker("GET", "k")
    assert tracker("FLUSHALL") == "OK"
    assert tracker.push() == Push([b"invalidate", None])
    writer("SET", "k", "v")                         # FLUSHALL forgot every read
    assert tracker.quiet()


def test_bcast_with_prefixes(conn):
    tracker, writer = conn(), conn(2)
    assert tracker("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:",
                   "PREFIX", "item:") == "OK"
    writer("MSET", "user:2", "a", "user:1", "b", "item:9", "c", "other", "d")
    # one message per prefix, keys sorted, prefixes in order
    assert tracker.push() == invalidate(b"item:9")
    assert tracker.push() == invalidate(b"user:1", b"user:2")
    writer("SET", "other", "x")
    assert tracker.quiet()
    info = tracker("CLIENT", "TRACKINGINFO")
    assert info == {b"flags": {b"on", b"bcast"}, b"redirect": 0,
                    b"prefixes": [b"item:", b"user:"]}


def test_bcast_without_prefix_gets_every_key(conn):
    tracker, writer = conn(), conn(2)
    tracker("CLIENT", "TRACKING", "ON", "BCAST")
    writer("SET", "anything", "1")
    assert tracker.push() == invalidate(b"anything")
    assert tracker("CLIENT", "TRACKINGINFO")[b"prefixes"] == [b""]


def test_noloop_skips_own_writes(conn):
    tracker, writer = conn(), conn(2)
    tracker("CLIENT", "TRACKING", "ON", "NOLOOP")
    tracker("GET", "k")
    tracker("SET", "k", "mine")
    assert tracker.quiet()
    tracker("GET", "k")
    writer("SET", "k", "theirs")
    assert tracker.push() == invalidate(b"k")


def test_bcast_noloop(conn):
    tracker = conn()
    tracker("CLIENT", "TRACKING", "ON", "BCAST", "NOLOOP")
    tracker("SET", "k", "v")
    assert tracker.quiet()
    plain = conn()
    plain("CLIENT", "TRACKING", "ON", "BCAST")
    plain("SET", "k", "w")
    assert plain.push() == invalidate(b"k")         # without NOLOOP its own write is sent
    assert tracker.push() == invalidate(b"k")


def test_redirect_to_resp2_subscriber(conn):
    receiver, tracker, writer = conn(2), conn(2), conn(2)
    assert receiver("SUBSCRIBE", INVALIDATE) == [b"subscribe", INVALIDATE, 1]
    assert tracker("CLIENT", "TRACKING", "ON", "REDIRECT", str(receiver.id)) == "OK"
    assert tracker("CLIENT", "GETREDIR") == receiver.id
    tracker("GET", "k")
    writer("SET", "k", "v")
    assert receiver.push() == [b"message", INVALIDATE, [b"k"]]
    writer("FLUSHALL")
    assert receiver.push() == [b"message", INVALIDATE, None]
    assert tracker.quiet()


@pytest.mark.parametrize("bcast", [False, True], ids=["default", "bcast"])
def test_a_resp2_client_redirected_to_itself_hears_its_invalidations(conn, bcast):
    """One RESP2 connection that tracks with REDIRECT to its own id and subscribes to
    __redis__:invalidate is told, as a message (cashews' client-side cache does this)."""
    tracker, writer = conn(2), conn(2)
    options = ["BCAST", "PREFIX", "app:"] if bcast else []
    assert tracker("CLIENT", "TRACKING", "ON", "REDIRECT", str(tracker.id), *options) == "OK"
    if not bcast:
        tracker("GET", "app:k")
    assert tracker("SUBSCRIBE", INVALIDATE) == [b"subscribe", INVALIDATE, 1]
    writer("SET", "app:k", "v")
    assert tracker.push() == [b"message", INVALIDATE, [b"app:k"]]


def test_redirect_to_resp3_client(conn):
    receiver, tracker, writer = conn(3), conn(3), conn(2)
    tracker("CLIENT", "TRACKING", "ON", "REDIRECT", str(receiver.id))
    tracker("GET", "k")
    writer("SET", "k", "v")
    assert receiver.push() == invalidate(b"k")
    assert tracker.quiet()


def test_broken_redirect(conn):
    receiver, tracker, writer = conn(2), conn(3), conn(2)
    tracker("CLIENT", "TRACKING", "ON", "REDIRECT", str(receiver.id))
    receiver.close()
    time.sleep(0.1)
    tracker("GET", "k")
    writer("SET", "k", "v")
    assert tracker.push() == Push([b"tracking-redir-broken", receiver.id])
    info = tracker("CLIENT", "TRACKINGINFO")
    assert info[b"flags"] == {b"on", b"broken_redirect"}
    assert info[b"redirect"] == receiver.id


def test_optin_tracks_only_after_caching_yes(conn):
    tracker, writer = conn(), conn(2)
    tracker("CLIENT", "TRACKING", "ON", "OPTIN")
    tracker("GET", "ignored")
    assert tracker("CLIENT", "CACHING", "YES") == "OK"
    assert tracker("CLIENT", "TRACKINGINFO")[b"flags"] == {b"on", b"optin", b"caching-yes"}
    tracker("GET", "cached")
    tracker("GET", "once")                          # CACHING covers one command
    writer("MSET", "ignored", "1", "cached", "2", "once", "3")
    assert tracker.push() == invalidate(b"cached")
    assert tracker.quiet()


def test_optin_caching_covers_a_transaction(conn):
    tracker, writer = conn(), conn(2)
    tracker("CLIENT", "TRACKING", "ON", "OPTIN")
    tracker("CLIENT", "CACHING", "YES")
    tracker("MULTI")
    tracker("GET", "a")
    tracker("GET", "b")
    assert tracker("EXEC") == [None, None]
    tracker("GET", "c")
    writer("MSET", "a", "1", "b", "2", "c", "3")
    assert tracker.push() == invalidate(b"a")
    assert tracker.push() == invalidate(b"b")
    assert tracker.quiet()


def test_optout_skips_after_caching_no(conn):
    tracker, writer = conn(), conn(2)
    tracker("CLIENT", "TRACKING", "ON", "OPTOUT")
    tracker("CLIENT", "CACHING", "NO")
    tracker("GET", "skipped")
    tracker("GET", "tracked")
    writer("MSET", "skipped", "1", "tracked", "2")
    assert tracker.push() == invalidate(b"tracked")
    assert tracker.quiet()


def test_tracking_off_and_reset(conn):
    tracker, writer = conn(), conn(2)
    tracker("CLIENT", "TRACKING", "ON")
    assert tracker("CLIENT", "TRACKING", "OFF") == "OK"
    tracker("GET", "k")
    writer("SET", "k", "v")
    assert tracker.quiet()
    tracker("CLIENT", "TRACKING", "ON", "BCAST")
    tracker("RESET")
    tracker("HELLO", "3")
    writer("SET", "k", "w")
    assert tracker.quiet()
    assert tracker("CLIENT", "TRACKINGINFO") == {b"flags": {b"off"}, b"redirect": -1,
                                                 b"prefixes": []}
    assert tracker("CLIENT", "GETREDIR") == -1


def test_trackinginfo_and_client_list(conn):
    tracker = conn()
    tracker("CLIENT", "TRACKING", "ON", "OPTOUT", "NOLOOP")
    assert tracker("CLIENT", "TRACKINGINFO") == {
        b"flags": {b"on", b"optout", b"noloop"}, b"redirect": 0, b"prefixes": []}
    assert tracker("CLIENT", "GETREDIR") == 0
    line = conn(2)("CLIENT", "LIST", "ID", str(tracker.id))
    assert b" flags=t " in line and b" redir=0 " in line


def test_info_fields(conn):
    tracker, other, observer = conn(), conn(), conn(2)
    tracker("CLIENT", "TRACKING", "ON")
    tracker("MGET", "a", "b")
    other("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "p")
    other("GET", "a")                              # BCAST clients remember nothing
    stats = observer("INFO", "stats").decode()
    assert "tracking_total_keys:2" in stats
    assert "tracking_total_items:2" in stats
    assert "tracking_total_prefixes:1" in stats
    assert "tracking_clients:2" in observer("INFO", "clients").decode()


@pytest.mark.parametrize("args, message", [
    (["ON", "PREFIX", "a"], "ERR PREFIX option requires BCAST mode to be enabled"),
    (["ON", "BCAST", "PREFIX", "ab", "PREFIX", "a"],
     "ERR Prefix 'ab' overlaps with another provided prefix 'a'. "
     "Prefixes for a single client must not overlap."),
    (["ON", "BCAST", "OPTIN"], "ERR OPTIN and OPTOUT are not compatible with BCAST"),
    (["ON", "OPTIN", "OPTOUT"], "ERR You can't specify both OPTIN mode and OPTOUT mode"),
    (["ON", "REDIRECT", "999999"], "ERR The client ID you want redirect to does not exist"),
    (["ON", "REDIRECT", "x"], "ERR value is not an integer or out of range"),
    (["ON", "NOSUCH"], "ERR syntax error"),
    (["MAYBE"], "ERR syntax error"),
])
def test_tracking_errors(conn, args, message):
    tracker = conn()
    reply = tracker("CLIENT", "TRACKING", *args)
    assert isinstance(reply, ErrorReply) and str(reply) == message


def test_mode_switch_errors(conn):
    tracker = conn()
    tracker("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "abc")
    assert str(tracker("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "ab")) == (
        "ERR Prefix 'ab' overlaps with an existing prefix 'abc'. "
        "Prefixes for a single client must not overlap.")
    assert str(tracker("CLIENT", "TRACKING", "ON")) == (
        "ERR You can't switch BCAST mode on/off before disabling tracking for this client, "
        "and then re-enabling it with a different mode.")
    tracker("CLIENT", "TRACKING", "OFF")
    tracker("CLIENT", "TRACKING", "ON", "OPTIN")
    assert str(tracker("CLIENT", "TRACKING", "ON", "OPTOUT")) == (
        "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, "
        "and then re-enabling it with a different mode.")
    assert str(tracker("CLIENT", "CACHING", "NO")) == (
        "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
    assert str(tracker("CLIENT", "CACHING", "MAYBE")) == "ERR syntax error"


def test_caching_errors(conn):
    client = conn()
    assert str(client("CLIENT", "CACHING", "YES")) == (
        "ERR CLIENT CACHING can be called only when the client is in tracking mode with "
        "OPTIN or OPTOUT mode enabled")
    client("CLIENT", "TRACKING", "ON")
    assert str(client("CLIENT", "CACHING", "YES")) == (
        "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")


def test_a_served_blocked_command_is_answered_before_its_invalidation(conn):
    tracker, writer = conn(), conn(2)
    writer("RPUSH", "dst", "a")
    tracker("CLIENT", "TRACKING", "ON")
    tracker("LRANGE", "dst", "0", "-1")
    tracker.sock.sendall(encode_command(("BLMOVE", "src", "dst", "LEFT", "LEFT", "0")))
    deadline = time.monotonic() + 5
    while b"blocked_clients:1" not in writer("INFO", "clients"):
        assert time.monotonic() < deadline, "BLMOVE never blocked"
        time.sleep(0.01)
    writer("RPUSH", "src", "x")                 # serves the BLMOVE, which writes dst
    assert tracker._next(5) == b"x"
    assert tracker.push() == invalidate(b"dst")


def test_a_key_that_expires_under_the_trackers_own_read_is_invalidated_after_the_reply(conn):
    tracker = conn()
    tracker("CLIENT", "TRACKING", "ON")
    tracker("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        tracker("SET", "x", "1")
        tracker("SET", "y", "2", "PX", "100")
        assert tracker("MGET", "x", "y") == [b"1", b"2"]
        time.sleep(0.15)
        assert tracker("MGET", "x", "y") == [b"1", None]    # y expires: the reply first
        assert tracker.pushes == []
        assert tracker.push() == invalidate(b"y")
    finally:
        tracker("DEBUG", "SET-ACTIVE-EXPIRE", "1")


def test_the_tracking_table_forgets_keys_past_its_limit(conn):
    tracker, admin = conn(), conn(2)
    tracker("CLIENT", "TRACKING", "ON")
    assert tracker("MGET", "k1", "k2", "k3") == [None, None, None]
    try:
        admin("CONFIG", "SET", "tracking-table-max-keys", "1")
        forgotten = {tracker.push(3)[1][0] for _ in range(2)}  # told, as if they changed
        assert len(forgotten) == 2 and forgotten < {b"k1", b"k2", b"k3"}
    finally:
        admin("CONFIG", "SET", "tracking-table-max-keys", "1000000")
