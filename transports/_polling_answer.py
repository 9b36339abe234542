"""The answers of long-polling, built once for every driver.

Strategy: a driver waits (a parked poll, a greenlet, a coroutine) and writes;
what the answer *is* comes from here: the body and content headers of a
poll (text, v3 binary, JSONP), its compression, "Session ID unknown" for a
session gone meanwhile, the "ok" of a POST, and how a POST's body is read
(binary by Content-Type, JSONP form-encoded). The prebuilt header bytes
(:data:`TEXT_HEAD`, :data:`OK_HEAD`) serve drivers that format responses
themselves; :func:`plain_text_answer` says when the prebuilt one is exact.
[EIO4] "Polling"; PROTOCOL.md 1.
"""

from __future__ import annotations

import gzip
import zlib
from typing import TYPE_CHECKING, Any

from engineio import (
    BINARY_CONTENT_TYPE,
    JSONP_CONTENT_TYPE,
    SESSION_ID_UNKNOWN,
    decode_jsonp,
    encode_jsonp,
    is_binary_payload,
    reject,
)

from ._request import HttpRequest

if TYPE_CHECKING:
    from ._routing import EngineCore

__all__ = [
    "JSON_HEADERS",
    "TEXT_HEAD",
    "OK_HEAD",
    "polling_body",
    "poll_answer",
    "plain_text_answer",
    "ok_headers",
    "post_input",
    "compress",
]

_TEXT_HEADERS = [("Content-Type", "text/plain; charset=UTF-8"), ("Cache-Control", "no-store")]
#: v3 payloads holding binary, for a client that did not ask for b64=1.
_BINARY_HEADERS = [("Content-Type", BINARY_CONTENT_TYPE), ("Cache-Control", "no-store")]
_JSONP_HEADERS = [("Content-Type", JSONP_CONTENT_TYPE), ("Cache-Control", "no-store")]
JSON_HEADERS = [("Content-Type", "application/json")]
#: The head of a text polling answer, before its CORS headers and Content-Length.
TEXT_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\nCache-Control: no-store\r\n"
)
#: The head of a POST's "ok", before its CORS headers and Content-Length.
OK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"


def polling_body(jsonp: str | None, body: bytes) -> tuple[bytes, list[tuple[str, str]]]:
    """A polling response body and its content headers: JSONP-wrapped, binary (v3) or text."""
    if jsonp is not None:
        return encode_jsonp(body, jsonp), list(_JSONP_HEADERS)
    if is_binary_payload(body):
        return body, list(_BINARY_HEADERS)
    return body, list(_TEXT_HEADERS)


def plain_text_answer(server: "EngineCore[Any]", jsonp: str | None, body: bytes | None) -> bool:
    """Whether ``body`` is answered exactly by :data:`TEXT_HEAD` plus the CORS block.

    True for the usual answer: text, not JSONP, too short to compress, no hooks' headers.
    """
    return (
        body is not None
        and jsonp is None
        and not is_binary_payload(body)
        and (not server.http_compression or len(body) < server.compression_threshold)
        and not server.hooks.adds_headers
    )


def poll_answer(
    server: "EngineCore[Any]", request: HttpRequest, jsonp: str | None, body: bytes | None
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body answering a poll: ``body``, or for None "Session ID unknown"."""
    if body is None:
        err = reject(SESSION_ID_UNKNOWN)
        return err.http_status, JSON_HEADERS + server.cors.response_headers(request), err.body()
    body, headers = polling_body(jsonp, body)
    headers += server.cors.response_headers(request)
    if server.hooks.adds_headers:
        headers += server.hooks.extra_headers(request)
    if server.http_compression and len(body) >= server.compression_threshold:
        body, encoding = compress(body, request.header("accept-encoding", "") or "")
        if encoding:
            headers.append(("Content-Encoding", encoding))
    return 200, headers, body


def ok_headers(server: "EngineCore[Any]", request: HttpRequest) -> list[tuple[str, str]]:
    """The headers of a POST's "ok" (the prebuilt :data:`OK_HEAD` when no hook adds any)."""
    headers = [("Content-Type", "text/html")] + server.cors.response_headers(request)
    return headers + server.hooks.extra_headers(request)


def post_input(request: HttpRequest, body: bytes, jsonp: str | None) -> tuple[bytes, bool]:
    """A POST's payload and whether it is binary (by Content-Type; JSONP is form-encoded text)."""
    if jsonp is not None:
        return decode_jsonp(body), False  # form-encoded ``d=<payload>``
    content_type = request.header("content-type")
    return body, content_type is not None and content_type.startswith("application/octet-stream")


def compress(body: bytes, accept_encoding: str) -> tuple[bytes, str | None]:
    """``body`` compressed with the first of gzip, deflate the client accepts (or as it is)."""
    accepted = {part.split(";")[0].strip().lower() for part in accept_encoding.split(",")}
    if "gzip" in accepted:
        return gzip.compress(body, compresslevel=6), "gzip"
    if "deflate" in accepted:
        return zlib.compress(body, 6), "deflate"
    return body, None
