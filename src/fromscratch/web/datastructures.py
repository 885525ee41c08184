"""The containers requests and responses are made of, and the header grammars they parse.

* `Headers`: an ordered, case-insensitive, multi-valued mapping (HTTP field names are
  case-insensitive, and `Set-Cookie` may repeat).
* `MultiDict`: query strings and forms, where `?tag=a&tag=b` is legal.
* `parse_options_header`, `parse_accept`, `parse_cookie_header`, `format_cookie`: the
  small header grammars of RFC 9110 and RFC 6265.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Iterable, Iterator
from urllib.parse import unquote

from .errors import BadRequestKeyError


class Headers:
    """Case-insensitive multi-valued headers that keep their order and spelling."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] | dict | None = None):
        # A mapping sets each name once; a list of pairs is kept as it is, repeats and all.
        if isinstance(items, (list, tuple)):
            self._items = [(name, str(value)) for name, value in items]
        else:
            self._items = []
            if items:
                self.update(items)

    def __getitem__(self, name: str) -> str:
        lower = name.lower()
        for key, value in self._items:
            if key.lower() == lower:
                return value
        raise KeyError(name)

    def get(self, name: str, default=None):
        try:
            return self[name]
        except KeyError:
            return default

    def get_all(self, name: str) -> list[str]:
        lower = name.lower()
        return [value for key, value in self._items if key.lower() == lower]

    def __setitem__(self, name: str, value) -> None:
        """Replace every value of `name` with this one."""
        self.remove(name)
        self._items.append((name, str(value)))

    def add(self, name: str, value) -> None:
        """Add a value, keeping the ones already there (for Set-Cookie, Vary, ...)."""
        self._items.append((name, str(value)))

    def setdefault(self, name: str, value) -> str:
        if name not in self:
            self.add(name, value)
        return self[name]

    def remove(self, name: str) -> None:
        lower = name.lower()
        self._items = [item for item in self._items if item[0].lower() != lower]

    __delitem__ = remove

    def pop(self, name: str, default=None):
        value = self.get(name, default)
        self.remove(name)
        return value

    def update(self, items) -> None:
        """Set each header in `items` (a mapping or pairs), replacing earlier values."""
        pairs = items.items() if hasattr(items, "items") else items
        for name, value in pairs:
            self[name] = value

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        lower = name.lower()
        for key, _ in self._items:
            if key.lower() == lower:
                return True
        return False

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list[str]:
        return [key for key, _ in self._items]

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def to_list(self) -> list[tuple[str, str]]:
        """The (name, value) pairs, as WSGI's start_response wants them."""
        return self._items

    def __eq__(self, other) -> bool:
        return isinstance(other, Headers) and self._items == other._items

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


class MultiDict(dict):
    """A dict of lists that reads like a dict of first values.

    `d["tag"]` is the first value, `d.getlist("tag")` all of them. A missing key raises
    `BadRequestKeyError`, which the app answers with 400: a form without a required field
    is the client's mistake, not a server error.
    """

    def __init__(self, pairs: Iterable[tuple[str, object]] = ()):
        super().__init__()
        for key, value in pairs:
            self.add(key, value)

    def add(self, key: str, value) -> None:
        dict.setdefault(self, key, []).append(value)

    def __getitem__(self, key):
        try:
            return dict.__getitem__(self, key)[0]
        except KeyError:
            raise BadRequestKeyError(key) from None

    def __setitem__(self, key, value) -> None:
        dict.__setitem__(self, key, [value])

    def get(self, key, default=None, type=None):
        """The first value of `key`, converted by `type` (default if missing or invalid)."""
        values = dict.get(self, key)
        if not values:
            return default
        if type is None:
            return values[0]
        try:
            return type(values[0])
        except (TypeError, ValueError):
            return default

    def getlist(self, key, type=None) -> list:
        values = dict.get(self, key, [])
        if type is None:
            return list(values)
        result = []
        for value in values:
            try:
                result.append(type(value))
            except (TypeError, ValueError):
                pass
        return result

    def items(self, multi: bool = False):
        if multi:
            return [(key, value) for key, values in dict.items(self) for value in values]
        return [(key, values[0]) for key, values in dict.items(self)]

    def values(self):
        return [values[0] for values in dict.values(self)]

    def to_dict(self) -> dict:
        return {key: values[0] for key, values in dict.items(self)}

    def __repr__(self) -> str:
        return f"MultiDict({self.items(multi=True)!r})"


# -- header grammars ---------------------------------------------------------------------

# One `; name=value` parameter, the value a token or a quoted-string (RFC 9110 5.6.6).
_PARAM = re.compile(r';\s*([^\s;=]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^;]*))?')


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def parse_options_header(value: str | None) -> tuple[str, dict[str, str]]:
    """`text/html; charset="utf-8"` -> ("text/html", {"charset": "utf-8"}).

    The main value is lower-cased (media types and dispositions are case-insensitive);
    parameter names are lower-cased, values kept. `name*=UTF-8''...` (RFC 8187, used for
    non-ASCII file names) is decoded and wins over the plain `name=`.
    """
    if not value:
        return "", {}
    main, sep, rest = value.partition(";")
    params: dict[str, str] = {}
    for match in _PARAM.finditer(sep + rest):
        name = match.group(1).lower()
        raw = match.group(2) or ""
        if name.endswith("*"):
            charset, _, encoded = _unquote(raw).partition("'")
            _language, _, encoded = encoded.partition("'")
            params[name[:-1]] = unquote(encoded, encoding=charset or "utf-8", errors="replace")
        elif name not in params:
            params[name] = _unquote(raw)
    return main.strip().lower(), params


def parse_accept(value: str | None) -> list[tuple[str, float]]:
    """`text/html, application/json;q=0.9` -> [("text/html", 1.0), ("application/json", 0.9)],
    best first; entries the client ranks equal keep the client's order."""
    if not value:
        return []
    entries = []
    for part in value.split(","):
        item, params = parse_options_header(part)
        if not item:
            continue
        try:
            quality = max(0.0, min(1.0, float(params.get("q", 1))))
        except ValueError:
            quality = 0.0
        entries.append((item, quality))
    entries.sort(key=lambda entry: -entry[1])
    return entries


def _media_match(pattern: str, offer: str) -> int:
    """How specifically `pattern` (from Accept) matches `offer`: 0 none, 1 */*, 2 type/*, 3 exact."""
    if pattern == offer:
        return 3
    pattern_type, _, pattern_sub = pattern.partition("/")
    offer_type, _, _offer_sub = offer.partition("/")
    if pattern_type == "*" and pattern_sub in ("*", ""):
        return 1
    if pattern_sub == "*" and pattern_type == offer_type:
        return 2
    return 0


def accept_quality(accept: list[tuple[str, float]], offer: str) -> float:
    """The quality the client gives `offer`: that of the most specific matching entry."""
    best_specificity, quality = 0, 0.0
    for pattern, q in accept:
        specificity = _media_match(pattern, offer.lower())
        if specificity > best_specificity:
            best_specificity, quality = specificity, q
    return quality


# -- cookies (RFC 6265) ------------------------------------------------------------------

# cookie-octet: visible ASCII except DQUOTE, comma, semicolon and backslash.
_COOKIE_OCTETS = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*\Z")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")


def quote_cookie_value(value: str) -> str:
    """A cookie value as it may appear on the wire.

    Values of cookie-octets go as they are; anything else is sent double-quoted with
    backslash escapes for quotes and backslashes and octal escapes for other bytes, the
    convention Python's http.cookies and most frameworks read back.
    """
    if _COOKIE_OCTETS.match(value):
        return value
    out = []
    for byte in value.encode("utf-8"):
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7f and char not in ",;":
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


_COOKIE_ESCAPE = re.compile(rb"\\([0-3][0-7]{2}|.)")


def unquote_cookie_value(value: str) -> str:
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value
    raw = value[1:-1].encode("latin-1", "replace")

    def replace(match):
        escaped = match.group(1)
        return bytes([int(escaped, 8)]) if len(escaped) == 3 else escaped
    return _COOKIE_ESCAPE.sub(replace, raw).decode("utf-8", "replace")


def parse_cookie_header(value: str | None) -> dict[str, str]:
    """`a=1; b="x y"` -> {"a": "1", "b": "x y"}. Lenient: a malformed pair is skipped,
    never the whole header; the first of two same-named cookies wins (the browser sends
    the most specific path first)."""
    cookies: dict[str, str] = {}
    if not value:
        return cookies
    for pair in value.split(";"):
        name, sep, raw = pair.partition("=")
        name = name.strip()
        if not sep or not name or name in cookies:
            continue
        cookies[name] = unquote_cookie_value(raw.strip())
    return cookies


def http_date(moment: datetime | float | int) -> str:
    """`Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 5.6.7) from a datetime or a timestamp."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, timezone.utc)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return format_datetime(moment.astimezone(timezone.utc), usegmt=True)


def format_cookie(key: str, value: str = "", *, max_age: int | None = None,
                  expires: datetime | float | str | None = None, path: str | None = "/",
                  domain: str | None = None, secure: bool = False, httponly: bool = False,
                  samesite: str | None = None, partitioned: bool = False) -> str:
    """The value of one Set-Cookie header, every RFC 6265bis attribute included."""
    if not _TOKEN.match(key):
        raise ValueError(f"invalid cookie name {key!r}")
    parts = [f"{key}={quote_cookie_value(value)}"]
    if max_age is not None:
        parts.append(f"Max-Age={int(max_age)}")
    if expires is not None:
        parts.append("Expires=" + (expires if isinstance(expires, str) else http_date(expires)))
    if domain:
        parts.append(f"Domain={domain}")
    if path:
        parts.append(f"Path={path}")
    if secure or partitioned:        # browsers reject Partitioned cookies without Secure
        parts.append("Secure")
    if httponly:
        parts.append("HttpOnly")
    if samesite:
        samesite = samesite.capitalize()
        if samesite not in ("Strict", "Lax", "None"):
            raise ValueError("samesite must be 'Strict', 'Lax' or 'None'")
        parts.append(f"SameSite={samesite}")
    if partitioned:
        parts.append("Partitioned")
    return "; ".join(parts)
