"""A minimal frontend for tests: builds client messages and splits server output.
Independent of the code under test (written from the protocol documentation)."""

import base64
import hashlib
import hmac
import struct


def startup(user="postgres", database="postgres", **params):
    body = struct.pack("!i", 196608)
    for k, v in dict(user=user, database=database, **params).items():
        body += k.encode() + b"\0" + v.encode() + b"\0"
    body += b"\0"
    return struct.pack("!i", len(body) + 4) + body


def ssl_request():
    return struct.pack("!ii", 8, 80877103)


def cancel_request(pid, secret):
    return struct.pack("!iiii", 16, 80877102, pid, secret)


def msg(kind: bytes, body: bytes = b"") -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def cstr(s: str) -> bytes:
    return s.encode() + b"\0"


def query(sql):
    return msg(b"Q", cstr(sql))


def parse(sql, name="", types=()):
    return msg(b"P", cstr(name) + cstr(sql) + struct.pack("!h", len(types)) +
               b"".join(struct.pack("!I", t) for t in types))


def bind(params=(), portal="", statement="", formats=(), result_formats=()):
    body = cstr(portal) + cstr(statement) + struct.pack("!h", len(formats))
    body += b"".join(struct.pack("!h", f) for f in formats)
    body += struct.pack("!h", len(params))
    for p in params:
        if p is None:
            body += struct.pack("!i", -1)
        else:
            body += struct.pack("!i", len(p)) + p
    body += struct.pack("!h", len(result_formats)) + b"".join(struct.pack("!h", f) for f in result_formats)
    return msg(b"B", body)


def describe(kind="P", name=""):
    return msg(b"D", kind.encode() + cstr(name))


def execute(portal="", max_rows=0):
    return msg(b"E", cstr(portal) + struct.pack("!i", max_rows))


def sync():
    return msg(b"S")


def flush():
    return msg(b"H")


def terminate():
    return msg(b"X")


def copy_data(data):
    return msg(b"d", data)


def copy_done():
    return msg(b"c")


def password(data: bytes):
    return msg(b"p", data)


def split(data: bytes):
    """Server output as [(type char, body)]."""
    out = []
    i = 0
    while i < len(data):
        if data[i:i + 1] == b"N" and len(data) - i == 1:       # SSL refusal byte
            out.append(("ssl", b"N"))
            break
        kind = chr(data[i])
        (length,) = struct.unpack_from("!i", data, i + 1)
        out.append((kind, data[i + 5:i + 1 + length]))
        i += 1 + length
    return out


def fields(body: bytes) -> dict:
    """ErrorResponse / NoticeResponse fields by their code letter."""
    out = {}
    for part in body.split(b"\0"):
        if part:
            out[chr(part[0])] = part[1:].decode()
    return out


def data_rows(messages):
    rows = []
    for kind, body in messages:
        if kind == "D":
            (n,) = struct.unpack_from("!h", body, 0)
            pos, row = 2, []
            for _ in range(n):
                (size,) = struct.unpack_from("!i", body, pos)
                pos += 4
                if size < 0:
                    row.append(None)
                else:
                    row.append(body[pos:pos + size].decode())
                    pos += size
            rows.append(row)
    return rows


class ScramClient:
    def __init__(self, user, password):
        self.password = password
        self.nonce = base64.b64encode(b"fixed-client-nonce!").decode()
        self.first_bare = f"n=,r={self.nonce}"

    def initial(self):
        data = ("n,," + self.first_bare).encode()
        return password(b"SCRAM-SHA-256\0" + struct.pack("!i", len(data)) + data)

    def final(self, server_first: bytes):
        attrs = dict(p.split("=", 1) for p in server_first.decode().split(","))
        salted = hashlib.pbkdf2_hmac("sha256", self.password.encode(),
                                     base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored = hashlib.sha256(client_key).digest()
        without_proof = f"c=biws,r={attrs['r']}"
        auth = f"{self.first_bare},{server_first.decode()},{without_proof}".encode()
        signature = hmac.new(stored, auth, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        self.expected_server_signature = base64.b64encode(
            hmac.new(server_key, auth, hashlib.sha256).digest()).decode()
        return password((without_proof + ",p=" + base64.b64encode(proof).decode()).encode())
