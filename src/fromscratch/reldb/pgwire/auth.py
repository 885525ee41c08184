"""Password authentication: SCRAM-SHA-256 (RFC 5802 / RFC 7677, what psql and psycopg
use by default), MD5 and cleartext. Pure functions and a small state machine; no I/O.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCRAM_ITERATIONS = 4096


class AuthFailed(Exception):
    pass


def md5_password_hash(user: str, password: str, salt: bytes) -> str:
    """What a client sends for MD5 authentication: 'md5' + md5(md5(pw + user) + salt)."""
    inner = hashlib.md5((password + user).encode()).hexdigest()
    return "md5" + hashlib.md5(inner.encode() + salt).hexdigest()


class ScramVerifier:
    """The server's side of one SCRAM-SHA-256 exchange for a known password."""

    def __init__(self, password: str, salt: bytes | None = None,
                 iterations: int = SCRAM_ITERATIONS):
        self.salt = salt or secrets.token_bytes(16)
        self.iterations = iterations
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), self.salt, iterations)
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        self.stored_key = hashlib.sha256(client_key).digest()
        self.server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        self.client_first_bare = ""
        self.server_first = ""
        self.nonce = ""

    def client_first(self, mechanism: str, data: bytes) -> bytes:
        """Handle SASLInitialResponse; returns the server-first-message."""
        if mechanism != "SCRAM-SHA-256":
            raise AuthFailed("unsupported SASL mechanism")
        text = data.decode("utf-8", "replace")
        gs2, _, rest = text.partition(",")
        if gs2 not in ("n", "y"):
            raise AuthFailed("channel binding is not supported")
        _authzid, _, bare = rest.partition(",")
        attrs = _attributes(bare)
        if "r" not in attrs:
            raise AuthFailed("malformed SCRAM message")
        self.client_first_bare = bare
        self.nonce = attrs["r"] + base64.b64encode(secrets.token_bytes(18)).decode()
        salt = base64.b64encode(self.salt).decode()
        self.server_first = f"r={self.nonce},s={salt},i={self.iterations}"
        return self.server_first.encode()

    def client_final(self, data: bytes) -> bytes:
        """Verify the client's proof; returns the server-final-message."""
        text = data.decode("utf-8", "replace")
        without_proof, _, proof_part = text.rpartition(",p=")
        attrs = _attributes(without_proof)
        if attrs.get("r") != self.nonce or not proof_part:
            raise AuthFailed("malformed SCRAM message")
        try:
            proof = base64.b64decode(proof_part, validate=True)
        except ValueError:
            raise AuthFailed("malformed SCRAM proof") from None
        auth_message = ",".join((self.client_first_bare, self.server_first, without_proof))
        signature = hmac.new(self.stored_key, auth_message.encode(), hashlib.sha256).digest()
        if len(proof) != len(signature):
            raise AuthFailed("bad proof")
        client_key = bytes(a ^ b for a, b in zip(proof, signature))
        if not hmac.compare_digest(hashlib.sha256(client_key).digest(), self.stored_key):
            raise AuthFailed("password does not match")
        server_signature = hmac.new(self.server_key, auth_message.encode(), hashlib.sha256).digest()
        return ("v=" + base64.b64encode(server_signature).decode()).encode()


def _attributes(text: str) -> dict:
    out = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if sep:
            out[key] = value
    return out
