"""JSONP long-polling, the encoding half ([EIO3] "Transports"; PROTOCOL.md 3.1; REF ``polling-jsonp.js``).

A client that cannot make cross-origin XHRs polls with ``<script>`` tags and
posts with a hidden form; the query carries ``j=<index>``. The payload itself
is the ordinary polling payload of the session's protocol (always text: a
JSONP session never gets the binary format), only wrapped:

* a GET is answered with the JavaScript ``___eio[<index>]("<payload>");``,
  the payload as a JSON string literal with U+2028 / U+2029 escaped too
  (valid JSON, but line terminators inside a JavaScript string literal);
* a POST body is form-encoded, ``d=<payload>``, and the client escapes
  newlines (``\\n`` for a newline, ``\\\\n`` for an escaped one).

Which session is JSONP, and the headers, are the I/O layer's business.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs

from ._errors import LocalProtocolError

__all__ = ["encode_jsonp", "decode_jsonp", "jsonp_index", "JSONP_CONTENT_TYPE"]

JSONP_CONTENT_TYPE = "text/javascript; charset=UTF-8"

_NOT_DIGIT = re.compile("[^0-9]")
# REF rSlashes: an escaped newline ("\\n") stays, a bare "\n" becomes a newline.
_SLASHES = re.compile(r"(\\)?\\n")


def jsonp_index(j: str) -> str:
    """The callback index of a ``j`` query value: its digits only (REF), so it can never inject script."""
    return _NOT_DIGIT.sub("", j)


def encode_jsonp(payload: bytes, index: str) -> bytes:
    """Wrap a text polling payload for the callback ``___eio[index]``.

    Raises LocalProtocolError if ``payload`` is not UTF-8 text: a binary payload
    cannot reach a JSONP client (its session is created without binary support).
    """
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LocalProtocolError("a JSONP payload must be text") from exc
    literal = json.dumps(text, ensure_ascii=False)
    literal = literal.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"___eio[{jsonp_index(index)}]({literal});".encode("utf-8")


def decode_jsonp(body: bytes) -> bytes:
    """The polling payload inside a JSONP POST body (``d=<payload>``, form-encoded).

    Never raises: a body that is not a UTF-8 form with a ``d`` field gives
    ``b""``, which the session then refuses as an empty payload (parse error),
    so a malformed JSONP POST closes the session like any malformed POST.
    """
    try:
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=16)
    except (UnicodeDecodeError, ValueError):
        return b""
    values = form.get("d")
    if not values:
        return b""
    data = _SLASHES.sub(lambda m: m.group(0) if m.group(1) else "\n", values[0])
    return data.replace("\\\\n", "\\n").encode("utf-8")
