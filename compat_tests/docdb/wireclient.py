"""A bare-socket MongoDB client for tests that need exact bytes: our wire codec builds
the requests (as a legacy or a current driver would) and parses the replies."""

from __future__ import annotations

import socket
import struct

from fromscratch.docdb import wire


class RawConnection:
    def __init__(self, port: int, timeout: float = 5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.request_id = 0

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def receive(self) -> bytes:
        header = self._exactly(4)
        (length,) = struct.unpack("<i", header)
        return header + self._exactly(length - 4)

    def _exactly(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("the server closed the connection")
            data += chunk
        return data

    def command(self, body: dict, sequences: dict | None = None) -> dict:
        self.request_id += 1
        self.send(wire.encode_msg_request(self.request_id, body, sequences))
        response_to, documents = wire.parse_reply(self.receive())
        assert response_to == self.request_id
        return documents[0]

    def legacy_command(self, database: str, body: dict) -> tuple[int, list[dict]]:
        self.request_id += 1
        self.send(wire.encode_query(self.request_id, f"{database}.$cmd", body))
        reply = self.receive()
        opcode = struct.unpack_from("<i", reply, 12)[0]
        return opcode, wire.parse_reply(reply)[1]

    def closed_by_server(self) -> bool:
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self) -> None:
        self.sock.close()
