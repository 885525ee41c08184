"""The values RESP can carry, as Python objects.

Most RESP types map onto plain Python types, and both the reader and the writer use
the same mapping:

    RESP2/RESP3            Python
    -----------            ------
    +simple string         SimpleString (a str subclass; a plain str is sent as bulk)
    -error                 ErrorReply
    :integer               int
    $bulk string           bytes
    $-1 / _ null           None
    *array                 list
    *-1 null array         NULL_ARRAY when writing (RESP3 has one null: `_`)
    #boolean               bool
    ,double                float (inf, -inf and nan included)
    (big number            BigNumber (an int)
    =verbatim string       Verbatim
    %map                   dict
    ~set                   set (the reader gives a frozenset-safe set of hashable items),
                           or OrderedSet when writing, to fix the order
    |attribute             Attributed (the value with its attributes)
    >push                  Push (a list)

When a RESP3 value is written to a RESP2 client it is downgraded the way Redis does it
(see writer.py). Two more types only write: Replies (several replies in a row) and
Encoded (a reply already written).
"""

from __future__ import annotations


class SimpleString(str):
    """A status reply such as OK or PONG (`+OK`): text without CR or LF."""

    __slots__ = ()


class ErrorReply(Exception):
    """An error reply (`-ERR ...`). The first word is the error code (ERR, WRONGTYPE...).

    It is an exception so that a command can `raise ErrorReply(...)` from any depth;
    the server turns it into the reply. The reader returns (not raises) it.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    @property
    def code(self) -> str:
        return self.message.split(" ", 1)[0]

    def __eq__(self, other):
        return isinstance(other, ErrorReply) and other.message == self.message

    def __hash__(self):
        return hash(self.message)

    def __repr__(self):
        return f"ErrorReply({self.message!r})"


class BigNumber(int):
    """An integer beyond 64 bits (`(3492890328409238509324850943850943825024385`)."""

    __slots__ = ()


class Verbatim(str):
    """Text with a three-letter format (`=15\\r\\ntxt:Some string`), e.g. INFO's reply."""

    __slots__ = ("format",)

    def __new__(cls, text: str, format: str = "txt"):
        if len(format) != 3:
            raise ValueError("a verbatim string's format is three characters")
        self = super().__new__(cls, text)
        self.format = format
        return self


class OrderedSet(list):
    """A set written in the order given (a RESP3 set, an array in RESP2): Redis writes
    some sets, such as a command's flags, in a fixed order that clients may compare."""

    __slots__ = ()


class Push(list):
    """Out-of-band data the server sends unasked (pub/sub messages, invalidations)."""

    __slots__ = ()


class Attributed:
    """A value preceded by an attribute map (`|1\\r\\n+key\\r\\n...` then the value)."""

    __slots__ = ("value", "attributes")

    def __init__(self, value, attributes: dict):
        self.value = value
        self.attributes = attributes

    def __eq__(self, other):
        return (isinstance(other, Attributed) and other.value == self.value
                and other.attributes == self.attributes)

    def __repr__(self):
        return f"Attributed({self.value!r}, {self.attributes!r})"


class Encoded:
    """A reply already written as RESP that reads the same in RESP2 and RESP3 (stream
    entries are kept this way): the writer copies its bytes as they are. Not a RESP
    type: a shortcut for data written once and sent many times."""

    __slots__ = ("data",)

    def __init__(self, data: bytes):
        self.data = data

    def __eq__(self, other):
        return isinstance(other, Encoded) and other.data == self.data

    def __repr__(self):
        return f"Encoded({self.data!r})"


class Replies(list):
    """Several replies sent one after another, for the commands that answer more than
    once (SUBSCRIBE a b confirms each channel separately). Not a RESP type: it writes
    its items back to back, with no header."""

    __slots__ = ()


class _NullArray:
    """RESP2's `*-1`, which some commands (BLPOP timeout, EXEC abort) still answer."""

    __slots__ = ()
    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self):
        return "NULL_ARRAY"

    def __bool__(self):
        return False


NULL_ARRAY = _NullArray()
