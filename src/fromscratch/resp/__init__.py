"""RESP, the Redis serialization protocol (RESP2 and RESP3), without any I/O.

    from fromscratch.resp import RequestParser, ReplyReader, encode, encode_command
"""

from .reader import (INCOMPLETE, ProtocolError, ReplyReader, RequestParser, quote_repr,
                     split_inline)
from .values import (NULL_ARRAY, Attributed, BigNumber, Encoded, ErrorReply, OrderedSet, Push,
                     Replies, SimpleString, Verbatim)
from .writer import (encode, encode_command, format_double, write_items, write_resp2,
                     write_resp3)

__all__ = [
    "INCOMPLETE", "NULL_ARRAY", "Attributed", "BigNumber", "Encoded", "ErrorReply",
    "OrderedSet", "ProtocolError", "Push", "Replies", "ReplyReader", "RequestParser", "SimpleString",
    "Verbatim", "encode", "encode_command", "format_double", "quote_repr", "split_inline",
    "write_items", "write_resp2", "write_resp3",
]
