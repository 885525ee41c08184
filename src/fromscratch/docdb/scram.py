"""SCRAM (RFC 5802 and RFC 7677), the server's half: SCRAM-SHA-256 and SCRAM-SHA-1.

Sans-I/O: `ScramServer.first(client_first) -> server_first`, then
`ScramServer.final(client_final) -> server_final`; the SASL commands carry the bytes.

The server never keeps a password, only per-mechanism credentials derived from it with
a random salt (`make_credentials`): StoredKey = H(HMAC(SaltedPassword, "Client Key")) and
ServerKey = HMAC(SaltedPassword, "Server Key"). The client proves it knows the password
by sending ClientKey XOR HMAC(StoredKey, AuthMessage); the server checks that H(ClientKey)
is StoredKey, then proves itself with HMAC(ServerKey, AuthMessage).

MongoDB's SCRAM-SHA-1 hashes the password as MD5("user:mongo:password") first (a legacy
of its older MONGODB-CR); SCRAM-SHA-256 uses the password itself (SASLprep'd; we accept
ASCII passwords as they are, and NFKC-normalise others as a close approximation).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import unicodedata

MECHANISMS = {"SCRAM-SHA-256": ("sha256", 15000), "SCRAM-SHA-1": ("sha1", 10000)}


class ScramError(Exception):
    pass


def _prepare(mechanism: str, username: str, password: str) -> bytes:
    if mechanism == "SCRAM-SHA-1":
        return hashlib.md5(f"{username}:mongo:{password}".encode()).hexdigest().encode()
    return unicodedata.normalize("NFKC", password).encode("utf-8")


def _salted(mechanism: str, username: str, password: str, salt: bytes, iterations: int) -> bytes:
    digest, _ = MECHANISMS[mechanism]
    return hashlib.pbkdf2_hmac(digest, _prepare(mechanism, username, password), salt, iterations)


def make_credentials(mechanism: str, username: str, password: str) -> dict:
    digest, iterations = MECHANISMS[mechanism]
    salt = os.urandom(28 if digest == "sha256" else 16)
    salted = _salted(mechanism, username, password, salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", digest)
    return {"iterationCount": iterations, "salt": base64.b64encode(salt).decode(),
            "storedKey": base64.b64encode(hashlib.new(digest, client_key).digest()).decode(),
            "serverKey": base64.b64encode(hmac.digest(salted, b"Server Key", digest)).decode()}


def verify_password(mechanism: str, credentials: dict, username: str, password: str) -> bool:
    """Check a plain password against stored credentials (for HTTP basic auth)."""
    digest, _ = MECHANISMS[mechanism]
    salted = _salted(mechanism, username, password, base64.b64decode(credentials["salt"]),
                     credentials["iterationCount"])
    stored = hashlib.new(digest, hmac.digest(salted, b"Client Key", digest)).digest()
    return hmac.compare_digest(stored, base64.b64decode(credentials["storedKey"]))


def _attributes(message: str) -> dict[str, str]:
    out = {}
    for part in message.split(","):
        if len(part) < 2 or part[1] != "=":
            raise ScramError(f"malformed SCRAM attribute {part!r}")
        out[part[0]] = part[2:]
    return out


class ScramServer:
    """One authentication conversation. `lookup(username)` returns the user's stored
    credentials for this mechanism, or None."""

    def __init__(self, mechanism: str, lookup):
        if mechanism not in MECHANISMS:
            raise ScramError(f"unsupported mechanism {mechanism}")
        self.mechanism = mechanism
        self.digest = MECHANISMS[mechanism][0]
        self.lookup = lookup
        self.username: str | None = None
        self.done = False

    def first(self, payload: bytes) -> bytes:
        try:
            message = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise ScramError("the SCRAM message is not UTF-8") from None
        if not message.startswith(("n,", "y,")):
            raise ScramError("channel binding is not supported")
        header, _, bare = message.partition(",")
        _authzid, _, bare = bare.partition(",")
        attributes = _attributes(bare)
        if "n" not in attributes or "r" not in attributes:
            raise ScramError("client-first message lacks the user name or nonce")
        self.username = attributes["n"].replace("=2C", ",").replace("=3D", "=")
        self.credentials = self.lookup(self.username)
        if self.credentials is None:
            raise ScramError("Authentication failed.")
        self.nonce = attributes["r"] + base64.b64encode(os.urandom(24)).decode()
        self.client_first_bare = bare
        self.server_first = (f"r={self.nonce},s={self.credentials['salt']},"
                             f"i={self.credentials['iterationCount']}")
        return self.server_first.encode()

    def final(self, payload: bytes) -> bytes:
        message = payload.decode("utf-8", "replace")
        attributes = _attributes(message)
        if attributes.get("r") != self.nonce or "p" not in attributes:
            raise ScramError("Authentication failed.")
        without_proof = message[:message.rindex(",p=")]
        auth_message = f"{self.client_first_bare},{self.server_first},{without_proof}".encode()
        stored_key = base64.b64decode(self.credentials["storedKey"])
        signature = hmac.digest(stored_key, auth_message, self.digest)
        try:
            proof = base64.b64decode(attributes["p"], validate=True)
        except ValueError:
            raise ScramError("Authentication failed.") from None
        if len(proof) != len(signature):
            raise ScramError("Authentication failed.")
        client_key = bytes(a ^ b for a, b in zip(proof, signature))
        if not hmac.compare_digest(hashlib.new(self.digest, client_key).digest(), stored_key):
            raise ScramError("Authentication failed.")
        server_key = base64.b64decode(self.credentials["serverKey"])
        self.done = True
        return b"v=" + base64.b64encode(hmac.digest(server_key, auth_message, self.digest))
