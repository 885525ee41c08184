"""The framework's own HTTP/1.1 server: a sans-I/O parser and writer, and an asyncio
server that runs any WSGI application in a thread pool."""

from .parser import Data, EndOfMessage, NEED_DATA, ProtocolError, RequestHead, RequestParser
from .server import HttpServer, serve

__all__ = ["Data", "EndOfMessage", "HttpServer", "NEED_DATA", "ProtocolError", "RequestHead",
           "RequestParser", "serve"]
