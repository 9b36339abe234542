"""The application's say on Engine.IO requests: extra response headers, and who may connect.

Node's engine has these and applications ask for them (cookies or security
headers on the handshake, an authorization check before any session
exists). Socket-free, so both the gevent driver and the WSGI gateway use the
same rules:

- ``initial_headers(headers, request)`` adds headers to a handshake's
  response (the polling handshake, or a WebSocket's 101 without a sid);
- ``headers(headers, request)`` adds headers to every Engine.IO response
  (polls, posts, handshakes, 101s);

both mutate ``headers``, a dict of name -> value (a list of values gives one
header line each, as ``Set-Cookie`` needs), as Node's ``initial_headers`` /
``headers`` events do.

- ``allow_request(request)`` judges a handshake before its session exists,
  as Node's ``allowRequest`` does (requests naming a sid are not asked): True
  (or None) accepts; False refuses with Node's 403 ``{"code":4,"message":
  "Forbidden"}``; a string refuses with that message; ``(status, message)``
  picks the status too. It runs in the request's own greenlet, never on the
  hub, so it may wait (a gevent-cooperative lookup) without holding up
  other clients.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Union

from engineio import FORBIDDEN, RequestRejected

from ._logtext import peer_text
from ._request import HttpRequest

__all__ = ["RequestHooks", "HeaderHook", "AllowRequest"]

log = logging.getLogger(__name__)

HeaderValue = Union[str, list[str]]
HeaderHook = Callable[[dict[str, HeaderValue], HttpRequest], None]
AllowRequest = Callable[[HttpRequest], Any]


def _clean(name: str, value: str) -> bool:
    """A header line we can write: no CR, LF or NUL (a hook must not split the response)."""
    text = name + value
    return "\r" not in text and "\n" not in text and "\0" not in text and ":" not in name


@dataclass(frozen=True, slots=True)
class RequestHooks:
    """The three optional hooks; see the module docstring."""

    initial_headers: HeaderHook | None = None
    headers: HeaderHook | None = None
    allow_request: AllowRequest | None = None

    @property
    def adds_headers(self) -> bool:
        return self.initial_headers is not None or self.headers is not None

    def extra_headers(self, request: HttpRequest, *, handshake: bool = False) -> list[tuple[str, str]]:
        """The headers the hooks add to the response to ``request`` ([] without hooks)."""
        if self.initial_headers is None and self.headers is None:
            return []
        table: dict[str, HeaderValue] = {}
        for hook in (self.initial_headers if handshake else None, self.headers):
            if hook is None:
                continue
            try:
                hook(table, request)
            except Exception:
                log.exception("response header hook failed")
        lines: list[tuple[str, str]] = []
        for name, value in table.items():
            for item in value if isinstance(value, list) else [value]:
                item = str(item)
                if _clean(name, item):
                    lines.append((name, item))
                else:
                    log.warning("dropped a hook's header %s: CR, LF or NUL in it", peer_text(name))
        return lines

    def refusal(self, request: HttpRequest) -> RequestRejected | None:
        """None when ``allow_request`` accepts ``request`` (or there is none), else the refusal."""
        if self.allow_request is None:
            return None
        try:
            verdict = self.allow_request(request)
        except Exception:
            log.exception("allow_request failed: refusing the handshake")
            verdict = False
        if verdict is True or verdict is None:
            return None
        status, message = 403, "Forbidden"
        if isinstance(verdict, str):
            message = verdict
        elif isinstance(verdict, tuple) and len(verdict) == 2:
            status, message = int(verdict[0]), str(verdict[1])
        elif verdict is not False:
            return None  # any other truthy answer accepts
        return RequestRejected(FORBIDDEN, message, http_status=status)
