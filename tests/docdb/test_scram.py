"""SCRAM-SHA-256 and SCRAM-SHA-1, the server's half, against a client written from
RFC 5802 here."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from fromscratch.docdb.scram import ScramError, ScramServer, make_credentials, verify_password


def client_exchange(mechanism: str, user: str, password: str, server: ScramServer):
    digest = "sha256" if mechanism == "SCRAM-SHA-256" else "sha1"
    nonce = "fyko+d2lbbFgONRv9qkxdawL"
    first_bare = f"n={user},r={nonce}"
    server_first = server.first(f"n,,{first_bare}".encode()).decode()
    parts = dict(p.split("=", 1) for p in server_first.split(","))
    assert parts["r"].startswith(nonce)
    secret = password if mechanism == "SCRAM-SHA-256" else \
        hashlib.md5(f"{user}:mongo:{password}".encode()).hexdigest()
    salted = hashlib.pbkdf2_hmac(digest, secret.encode(), base64.b64decode(parts["s"]),
                                 int(parts["i"]))
    client_key = hmac.digest(salted, b"Client Key", digest)
    without_proof = f"c=biws,r={parts['r']}"
    auth_message = f"{first_bare},{server_first},{without_proof}".encode()
    signature = hmac.digest(hashlib.new(digest, client_key).digest(), auth_message, digest)
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, signature))).decode()
    final = server.final(f"{without_proof},p={proof}".encode()).decode()
    server_key = hmac.digest(salted, b"Server Key", digest)
    assert final == "v=" + base64.b64encode(hmac.digest(server_key, auth_message, digest)).decode()


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-1"])
def test_exchange(mechanism):
    credentials = make_credentials(mechanism, "user", "pencil")
    server = ScramServer(mechanism, lambda name: credentials if name == "user" else None)
    client_exchange(mechanism, "user", "pencil", server)
    assert server.done
    with pytest.raises(ScramError):
        client_exchange(mechanism, "user", "wrong", ScramServer(mechanism, lambda n: credentials))
    with pytest.raises(ScramError):
        client_exchange(mechanism, "nobody", "pencil", ScramServer(mechanism, lambda n: None))
    assert verify_password(mechanism, credentials, "user", "pencil")
    assert not verify_password(mechanism, credentials, "user", "pencil!")


def test_malformed_messages():
    server = ScramServer("SCRAM-SHA-256", lambda name: None)
    for message in (b"", b"p=tls-server-end-point,,n=u,r=x", b"n,,garbage", b"\xff\xfe"):
        with pytest.raises(ScramError):
            server.first(message)
