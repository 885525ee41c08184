"""The asyncio TCP server skeleton shared by every fromscratch server."""

from .server import Connection, ServerStats, TcpServer, run_servers

__all__ = ["Connection", "ServerStats", "TcpServer", "run_servers"]
