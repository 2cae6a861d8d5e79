"""Endpoint URLs and the credentials in them, parsed rather than pattern-matched.

A base URL may carry a user and password (``http://user:pw@host/v1``) and credential query
parameters (``?token=...``). :func:`parse_url` splits it: the userinfo is everything before the
*last* ``@`` of the authority, so a password may hold ``@``, ``/``, ``#``, ``:`` or spaces; the query
is split off the path. The client then gets the URL without either, the userinfo as a Basic
``Authorization`` header and the query as default query parameters (so a token is sent on every
request, not pasted into the middle of a path). :func:`public_url` is the only form written to a
config, a manifest, a trace, a log or a message: the userinfo as ``***`` and every query value as
``***``. :func:`url_secrets` lists the raw values so free text can be scrubbed of them too.
"""

from __future__ import annotations

import base64
import re
import urllib.parse
from dataclasses import dataclass

_SCHEME = re.compile(r"(?i)^([a-z][a-z0-9+.\-]*)://")


class URLError(ValueError):
    """A URL that cannot be used; ``str()`` never holds its credentials."""


@dataclass(frozen=True)
class ParsedURL:
    scheme: str  # lower case
    user: str | None
    password: str | None
    host: str  # host[:port] and path, no query
    query: tuple[tuple[str, str], ...]

    @property
    def base(self) -> str:
        """The URL the client is given: no userinfo, no query."""
        return f"{self.scheme}://{self.host}"

    @property
    def headers(self) -> dict[str, str]:
        if self.user is None:
            return {}
        token = base64.b64encode(f"{self.user}:{self.password or ''}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    @property
    def default_query(self) -> dict[str, str]:
        return dict(self.query)

    @property
    def public(self) -> str:
        auth = "***@" if self.user is not None else ""
        query = "&".join(f"{urllib.parse.quote(k)}=***" for k, _ in self.query)
        return f"{self.scheme}://{auth}{self.host}" + (f"?{query}" if query else "")

    @property
    def secrets(self) -> tuple[str, ...]:
        values = [self.password or "", *(v for _, v in self.query)]
        if self.user is not None and self.password:
            values.append(f"{self.user}:{self.password}")
        found = [v for v in values if len(v) >= 4]
        found += [urllib.parse.quote(v, safe="") for v in found]
        return tuple(dict.fromkeys(found))


def parse_url(url: str) -> ParsedURL:
    """Split ``url``; URLError (naming only its public parts) when it is no URL with a host."""
    text = url.strip()
    match = _SCHEME.match(text)
    if match is None:
        raise URLError("a URL starts with a scheme, e.g. http://HOST:PORT/v1")
    scheme, rest = match.group(1).lower(), text[match.end() :]
    at = rest.rfind("@")
    userinfo, hostpart = (rest[:at], rest[at + 1 :]) if at >= 0 else (None, rest)
    hostpart, _, query = hostpart.partition("?")
    if not hostpart or hostpart.startswith("/"):
        raise URLError(f"{scheme}://{'***@' if userinfo is not None else ''}{hostpart}: no host")
    user = password = None
    if userinfo is not None:
        user, _, password = userinfo.partition(":")
        user, password = urllib.parse.unquote(user), urllib.parse.unquote(password)
    pairs = tuple(urllib.parse.parse_qsl(query, keep_blank_values=True))
    return ParsedURL(scheme, user, password, hostpart.rstrip("/"), pairs)


_POOL = re.compile(r"(?i),(?=\s*[a-z][a-z0-9+.\-]*://)")


def split_pool(text: str) -> tuple[str, ...]:
    """A pool's URLs: split at the commas that start another URL (a password may hold a comma)."""
    return tuple(u.strip() for u in _POOL.split(text))


def public_url(url: str) -> str:
    try:
        return parse_url(url).public
    except URLError:
        return redact_urls(url)


def url_secrets(url: str) -> tuple[str, ...]:
    try:
        return parse_url(url).secrets
    except URLError:
        return ()


# free text: any scheme, any case; the userinfo runs to the last '@' of a whitespace-free run
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^\s]*@")
# query parameters that carry credentials: ?api_key=, &token=, ?sig=, &password=, ...
_SECRET_PARAM = re.compile(
    r"([?&;][^=&;#\s]*(?:key|token|secret|pass|pwd|sig|auth|credential)[^=&;#\s]*=)[^&;#\s]+", re.I
)


def redact_urls(text: str) -> str:
    """Userinfo and credential query values out of any URL in free text (the fallback where the
    secrets themselves are not known; known ones are replaced by ``agents.specs.redact``)."""
    return _SECRET_PARAM.sub(r"\1***", _USERINFO.sub(r"\1***@", text))
