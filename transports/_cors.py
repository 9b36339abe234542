"""Cross-origin rules for polling requests and WebSocket upgrades.

The default is same-origin: a browser page served from another origin is
refused unless the application names it. Requests without an ``Origin``
header (non-browser clients) are always allowed, as browsers are the only
clients CORS protects.
"""

from __future__ import annotations

import logging
from typing import Callable, Iterable, Union

from ._logtext import peer_text
from ._request import HttpRequest

__all__ = ["CorsPolicy", "AllowedOrigins"]

log = logging.getLogger(__name__)

AllowedOrigins = Union[None, str, Iterable[str], Callable[[str], bool]]

_ALLOWED_METHODS = "GET,HEAD,PUT,PATCH,POST,DELETE"
#: Origins whose header block is kept at once; past it the cache starts afresh.
_MAX_BLOCKS = 256


class CorsPolicy:
    """``allowed``: None (same origin), ``"*"`` (any), a list of origins, or a predicate."""

    def __init__(self, allowed: AllowedOrigins = None, *, credentials: bool = True) -> None:
        self.any = allowed == "*" or (isinstance(allowed, (list, tuple)) and "*" in allowed)
        self.predicate: Callable[[str], bool] | None = None
        self.origins: frozenset[str] | None = None
        if callable(allowed):
            self.predicate = allowed
        elif isinstance(allowed, str) and not self.any:
            self.origins = frozenset([allowed.rstrip("/")])
        elif allowed is not None and not self.any:
            self.origins = frozenset(o.rstrip("/") for o in allowed)
        self.same_origin_only = allowed is None
        self.credentials = credentials
        self._warned = False
        #: header_block() per Origin seen lately (bounded: origins are client-chosen).
        self._blocks: dict[str, bytes] = {}

    def is_allowed(self, request: HttpRequest) -> bool:
        origin = request.header("origin")
        if origin is None:
            return True
        if self.any:
            return True
        if self.predicate is not None:
            return bool(self.predicate(origin))
        if self.origins is not None:
            return origin.rstrip("/") in self.origins
        host = request.header("host")
        scheme = "https" if request.secure else "http"
        if host is not None and origin == f"{scheme}://{host}":
            return True
        if not self._warned:
            self._warned = True
            log.warning(
                "refused a request from origin %s: only same-origin requests are "
                "allowed by default; pass cors_allowed_origins=['%s'] (or '*') to allow it",
                peer_text(origin),
                peer_text(origin),
            )
        else:
            log.info("refused a request from origin %s (cors_allowed_origins)", peer_text(origin))
        return False

    def response_headers(self, request: HttpRequest) -> list[tuple[str, str]]:
        """Headers that let the browser read our answer (empty without Origin)."""
        origin = request.header("origin")
        if origin is None:
            return []
        if self.any and not self.credentials:
            return [("Access-Control-Allow-Origin", "*")]
        headers = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        if self.credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        return headers

    def header_block(self, request: HttpRequest) -> bytes:
        """:meth:`response_headers` as header lines in bytes, for a prebuilt response head.

        Kept per Origin: a page's requests all carry the same one, and this
        runs on every polling request.
        """
        origin = request.header("origin")
        if origin is None:
            return b""
        block = self._blocks.get(origin)
        if block is None:
            lines = "".join([f"{n}: {v}\r\n" for n, v in self.response_headers(request)])
            block = lines.encode("latin-1")
            if len(self._blocks) >= _MAX_BLOCKS:
                self._blocks.clear()
            self._blocks[origin] = block
        return block

    def preflight_headers(self, request: HttpRequest) -> list[tuple[str, str]]:
        headers = self.response_headers(request)
        headers.append(("Access-Control-Allow-Methods", _ALLOWED_METHODS))
        wanted = request.header("access-control-request-headers")
        if wanted:
            headers.append(("Access-Control-Allow-Headers", wanted))
        headers.append(("Access-Control-Max-Age", "86400"))
        return headers
