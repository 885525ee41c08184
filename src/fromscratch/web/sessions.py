"""Sessions kept in a signed cookie: the data lives in the browser, the key on the server.

Cookie value: `<payload>.<timestamp>.<signature>`, each base64url without padding.
The payload is JSON; the signature is HMAC-SHA256 over `payload.timestamp` with a key
derived from the app's secret key. The data can be read by the client (it is only
signed, not encrypted) but not changed: a cookie whose signature does not verify, or
that is older than `max_age`, is ignored and the request starts a fresh session.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Session(dict):
    """A dict that remembers whether it was changed, so unchanged sessions send no cookie."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.modified = False

    def _changed(method):
        def wrapper(self, *args, **kwargs):
            self.modified = True
            return method(self, *args, **kwargs)
        wrapper.__name__ = method.__name__
        return wrapper

    __setitem__ = _changed(dict.__setitem__)
    __delitem__ = _changed(dict.__delitem__)
    clear = _changed(dict.clear)
    pop = _changed(dict.pop)
    popitem = _changed(dict.popitem)
    setdefault = _changed(dict.setdefault)
    update = _changed(dict.update)
    del _changed


class Signer:
    """HMAC-SHA256 signatures with a purpose-specific key, so a signature made for
    sessions can never be replayed as one for something else."""

    def __init__(self, secret_key: str | bytes, salt: str = "fromscratch.web.session"):
        if isinstance(secret_key, str):
            secret_key = secret_key.encode("utf-8")
        self._key = hmac.new(secret_key, salt.encode("utf-8"), hashlib.sha256).digest()

    def sign(self, payload: bytes) -> str:
        text = f"{_b64encode(payload)}.{_b64encode(int(time.time()).to_bytes(8, 'big'))}"
        return f"{text}.{self._signature(text)}"

    def unsign(self, value: str, max_age: float | None = None) -> bytes | None:
        """The payload, or None if the value is malformed, tampered with or too old."""
        text, _, signature = value.rpartition(".")
        # compare_digest refuses non-ASCII str; such a value is forged anyway.
        if not text or not value.isascii() or \
                not hmac.compare_digest(signature, self._signature(text)):
            return None
        payload, _, stamp = text.partition(".")
        try:
            signed_at = int.from_bytes(_b64decode(stamp), "big")
            data = _b64decode(payload)
        except (ValueError, binascii.Error):
            return None
        if max_age is not None and time.time() - signed_at > max_age:
            return None
        return data

    def _signature(self, text: str) -> str:
        return _b64encode(hmac.new(self._key, text.encode("ascii", "replace"), hashlib.sha256).digest())


class SessionInterface:
    """Opens the session from the request's cookie and saves it onto the response."""

    def __init__(self, app):
        self.app = app

    def _signer(self) -> Signer:
        secret = self.app.config.get("SECRET_KEY")
        if not secret:
            raise RuntimeError("sessions need a secret key: App(secret_key=...) "
                               "or app.config['SECRET_KEY']")
        return Signer(secret)

    def open(self, request) -> Session:
        config = self.app.config
        value = request.cookies.get(config["SESSION_COOKIE_NAME"])
        if value:
            payload = self._signer().unsign(value, config["SESSION_LIFETIME"])
            if payload is not None:
                try:
                    data = json.loads(payload)
                except ValueError:
                    data = None
                if isinstance(data, dict):
                    return Session(data)
        return Session()

    def save(self, session: Session, response) -> None:
        config = self.app.config
        name = config["SESSION_COOKIE_NAME"]
        attributes = dict(path="/", httponly=True, samesite=config["SESSION_COOKIE_SAMESITE"],
                          secure=config["SESSION_COOKIE_SECURE"])
        if not session:
            response.delete_cookie(name, **attributes)
            return
        payload = json.dumps(session, separators=(",", ":")).encode("utf-8")
        response.set_cookie(name, self._signer().sign(payload),
                            max_age=config["SESSION_LIFETIME"], **attributes)
