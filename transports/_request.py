"""An HTTP/1.1 request head, parsed: the part of HTTP both drivers share.

Strategy: h11 judges every request head, but a keep-alive long-polling
client sends two small, plain heads per round trip, so a strict fast parser
(:func:`_parse_head`) reads those with one regex pass and declines anything
unusual back to h11 (``tests/transports/test_fast_head.py`` holds the two
together). :class:`HttpRequest` is what routing and Engine.IO look at; no
socket is touched here.

h11 is lenient where a lenient server is a smuggling risk: it accepts bare-LF
line ends, obsolete line folding (also inside Content-Length and
Transfer-Encoding), control characters such as DEL in field values, and a
Content-Length beside ``Transfer-Encoding: chunked``. RFC 9112 lets a server
refuse each of those, and a proxy in front of us may read them differently,
so a head h11 is about to judge passes :func:`head_problem` first and a
request with both framings is refused by :func:`conflicting_framing` (both
answered 400, then the connection is closed). The fast parser accepts none of
them, so it needs no such check.
"""

from __future__ import annotations

import re
from typing import Iterable
from urllib.parse import unquote_plus

from ._errors import TransportError

__all__ = [
    "HttpRequest",
    "head_problem",
    "conflicting_framing",
    "ends_with_bare_lf",
    "head_end",
    "BodyTooLarge",
    "ClientGone",
    "status_phrase",
    "raw_refusal",
    "judge_h11_head",
    "status_head",
    "response_bytes",
    "repeat_pattern",
]

class ClientGone(TransportError):
    """The peer closed the connection, timed out, or broke HTTP.

    ``status`` is set when the client is still there and deserves an answer
    (400 for malformed HTTP, 431 for an oversized head, 408 for a slow one).
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class BodyTooLarge(TransportError):
    """The request body exceeds the allowed size (answered 413)."""


class HttpRequest:
    """A parsed request head: what the routing and Engine.IO layers look at.

    ``headers`` are h11's form (lower-case byte names, byte values, in
    order); :attr:`header_map` the ``str`` form by lower-case name. A request
    from the fast parser carries the map (which its own checks needed) and
    its raw fields, and builds the byte pairs only when asked (the WebSocket
    handshake): a polling request never needs them.

    A session keeps its handshake request for its whole life, and most
    applications never look at it again; :meth:`compact` then keeps the
    fields as one string (``name:value`` lines, as they arrived) instead of
    a dict and a list of pairs: about 1 KB less per idle connection (issue
    19). Every form is rebuilt from that string on first use
    (``header_map``, ``headers`` and ``query`` are then kept), and
    :meth:`header` reads one field from it without building anything.
    """

    __slots__ = (
        "method",
        "target",
        "path",
        "query_string",
        "remote_addr",
        "secure",
        "_headers",
        "_fields",
        "_query",
        "_header_map",
        "_lines",
    )

    def __init__(
        self,
        method: str,
        target: str,
        path: str,
        query_string: str,
        headers: list[tuple[bytes, bytes]] | None = None,
        remote_addr: tuple[str, int] | None = None,
        secure: bool = False,
        *,
        header_map: dict[str, str] | None = None,
        fields: list[tuple[str, str]] | None = None,
    ) -> None:
        self.method = method
        self.target = target
        self.path = path
        self.query_string = query_string
        self.remote_addr = remote_addr
        self.secure = secure
        self._headers = headers if headers is not None or fields is not None else []
        self._fields = fields
        self._query: dict[str, str] | None = None
        self._header_map = header_map
        #: The compact form (:meth:`compact`): ``name:value\r\n`` per field, or None.
        self._lines: str | None = None

    def __repr__(self) -> str:
        return f"HttpRequest(method={self.method!r}, target={self.target!r})"

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        if self._headers is None:
            fields = self._fields if self._lines is None else _split_lines(self._lines)
            self._headers = [
                (name.lower().encode("latin-1"), value.encode("latin-1"))
                for name, value in fields or ()
            ]
        return self._headers

    @headers.setter
    def headers(self, value: list[tuple[bytes, bytes]]) -> None:
        self._headers = value
        self._fields = None
        self._lines = None
        self._header_map = None

    @property
    def query(self) -> dict[str, str]:
        query = self._query
        if query is None:
            query = self._query = _parse_query(self.query_string)
        return query

    @property
    def header_map(self) -> dict[str, str]:
        """Headers by lower-case name; repeated headers are joined with ", "."""
        result = self._header_map
        if result is None:
            if self._lines is not None:
                result = _field_map(_split_lines(self._lines))
            else:
                result = {}
                for name, value in self.headers:
                    key = name.decode("latin-1").lower()
                    text = value.decode("latin-1")
                    result[key] = f"{result[key]}, {text}" if key in result else text
            self._header_map = result
        return result

    def compact(self, path: str | None = None) -> None:
        """Keep the fields as one string for a long-lived session; drop every parsed form.

        What was parsed is rebuilt from it on first use (the same values:
        both parsers strip a value's surrounding blanks, and no name holds a
        colon nor any value a CR or LF). ``query`` is parsed again from
        :attr:`query_string` when asked. ``path``: the server's own copy of
        this request's path, kept instead of the request's when they are equal.
        """
        if path is not None and self.path == path:
            self.path = path
        if self._lines is None:
            if self._fields is not None:
                pairs: Iterable[tuple[str, str]] = self._fields
            elif self._headers:
                pairs = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in self._headers]
            else:
                pairs = (self._header_map or {}).items()
            self._lines = "".join([f"{name}:{value}\r\n" for name, value in pairs])
        self._headers = None
        self._fields = None
        self._header_map = None
        self._query = None
        self.method = _METHODS.get(self.method, self.method)

    def header(self, name: str, default: str | None = None) -> str | None:
        """One header by lower-case name (repeated ones joined with ", ")."""
        result = self._header_map
        if result is None:
            lines = self._lines
            if lines is not None:
                # The compact form: one field read, nothing kept.
                found = [v for n, v in _split_lines(lines) if n.lower() == name]
                return ", ".join(found) if found else default
            result = self.header_map
        return result.get(name, default)

    @property
    def wants_websocket(self) -> bool:
        upgrade = self.header("upgrade")
        return upgrade is not None and "websocket" in upgrade.lower()


#: One shared string per method name, so a kept request holds no copy of its own.
_METHODS = {m: m for m in ("GET", "POST", "OPTIONS", "HEAD", "PUT", "DELETE", "PATCH")}


def _split_lines(lines: str) -> list[tuple[str, str]]:
    """The (name, value) pairs of :meth:`HttpRequest.compact`'s string, in order."""
    pairs = []
    for line in lines.split("\r\n"):
        if line:
            name, _, value = line.partition(":")
            pairs.append((name, value))
    return pairs


def _field_map(fields: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Fields by lower-case name, repeated ones joined with ", " (RFC 9110 5.3)."""
    result: dict[str, str] = {}
    for name, value in fields:
        key = name.lower()
        result[key] = f"{result[key]}, {value}" if key in result else value
    return result


_PHRASES = {
    101: b"Switching Protocols",
    200: b"OK",
    204: b"No Content",
    400: b"Bad Request",
    403: b"Forbidden",
    404: b"Not Found",
    405: b"Method Not Allowed",
    408: b"Request Timeout",
    413: b"Payload Too Large",
    431: b"Request Header Fields Too Large",
    500: b"Internal Server Error",
    503: b"Service Unavailable",
}


def _parse_query(query: str) -> dict[str, str]:
    """``a=1&b=x%20y`` -> dict (last value wins); unquoting only where needed."""
    result: dict[str, str] = {}
    if "%" in query or "+" in query:
        for part in query.split("&"):
            if part:
                key, _, value = part.partition("=")
                result[unquote_plus(key)] = unquote_plus(value)
        return result
    for part in query.split("&"):
        if part:
            key, _, value = part.partition("=")
            result[key] = value
    return result


# The fast path's grammar: a subset of RFC 9112 that h11 accepts too. It runs
# over the head decoded as latin-1 (each byte one code point, so the classes
# below mean the same bytes they would in a bytes pattern), request line and
# every field line up to and including the last line's CRLF.
_HEAD = re.compile(
    r"(GET|POST|OPTIONS|HEAD|PUT|DELETE|PATCH) (/[!-~]*) HTTP/1\.1\r\n"
    # A field value is any run of SP, HTAB, VCHAR and obs-text: RFC 9110's
    # field-value with its optional surrounding whitespace, written flat.
    r"(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t -~\x80-\xff]*\r\n)*"
)
#: Splits field lines already validated by _HEAD into name and value, the
#: value without leading blanks; _FIELD_STRIP also drops trailing ones (h11
#: strips both), and is used only when a line ends in a blank.
_FIELD = re.compile(r"([^:]+):[ \t]*([^\r]*)\r\n")
_FIELD_STRIP = re.compile(r"([^:]+):[ \t]*((?:[^\r]*[^ \t\r])?)[ \t]*\r\n")


#: (method, target, fields, header map, content length)
_ParsedHead = tuple[str, str, list[tuple[str, str]], dict[str, str], int]


def _parse_head(text: str) -> _ParsedHead | None:
    """(method, target, fields, header map, content length) of a plain head, or None.

    ``text`` is the head decoded as latin-1, ending with the last field
    line's CRLF (the blank line excluded). None means "let h11 judge": an
    unusual form, or anything about framing the fast path will not decide
    (Transfer-Encoding, a repeated Content-Length or Host, no Host).
    """
    match = _HEAD.fullmatch(text)
    if match is None:
        return None
    start = match.end(2) + 11  # past " HTTP/1.1\r\n"
    if " \r\n" in text or "\t\r\n" in text:
        fields: list[tuple[str, str]] = _FIELD_STRIP.findall(text, start)
    else:
        fields = _FIELD.findall(text, start)
    header_map = {name.lower(): value for name, value in fields}
    if len(header_map) != len(fields):
        # Repeated names: joined with ", " (RFC 9110 5.3); framing ones are h11's call.
        header_map = {}
        for name, value in fields:
            key = name.lower()
            if key in header_map:
                if key == "host" or key == "content-length":
                    return None
                header_map[key] = f"{header_map[key]}, {value}"
            else:
                header_map[key] = value
    if "host" not in header_map or "transfer-encoding" in header_map:
        return None
    length = header_map.get("content-length")
    if length is None:
        return match.group(1), match.group(2), fields, header_map, 0
    if not length.isdigit() or not length.isascii() or len(length) > 18:
        return None
    return match.group(1), match.group(2), fields, header_map, int(length)


def _parse_head_fast(
    head: bytes,
) -> tuple[bytes, bytes, list[tuple[bytes, bytes]], int] | None:
    """:func:`_parse_head` in h11's terms (bytes, lower-case names): what the tests compare."""
    parsed = _parse_head(head.decode("latin-1") + "\r\n")
    if parsed is None:
        return None
    method, target, fields, _, length = parsed
    headers = [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in fields]
    return method.encode("ascii"), target.encode("latin-1"), headers, length


def repeat_pattern(head: bytes, method: str) -> tuple[bytes, bytes] | None:
    """How a repeat of ``head`` (a head :func:`_parse_head` took) looks, or None: no repeat.

    (The bytes up to its Content-Length value, the bytes after the value): a
    polling client's POSTs differ only there; b"" for a head without one.
    Only a GET without a body (nobody reads a GET's) or a POST whose length
    is spelled plainly (``: <digits>``; anything else stays with the parser).
    """
    if method != "GET" and method != "POST":
        return None
    at = head.lower().find(b"\r\ncontent-length:")
    if at < 0:
        return head, b""
    start = at + 17
    end = head.find(b"\r\n", start)
    if method == "GET" or head[start : start + 1] != b" " or not head[start + 1 : end].isdigit():
        return None
    return head[: start + 1], head[end:]


#: What :func:`head_problem` refuses. A control character other than HTAB
#: (and CR LF as a line end) is allowed nowhere in a head (RFC 9110 5.5: field
#: values are VCHAR, SP, HTAB and obs-text; DEL is none of them); a CR or LF
#: alone is a line end a proxy may not see (RFC 9112 2.2); a line starting
#: with SP or HTAB is obs-fold (RFC 9112 5.2: reject it or replace it, and
#: replacing it inside Content-Length is how requests get smuggled).
_HEAD_PROBLEM = re.compile(
    rb"(?P<ctl>[\x00-\x08\x0b\x0c\x0e-\x1f\x7f])"
    rb"|(?P<cr>\r(?!\n))|(?P<lf>(?<!\r)\n)"
    rb"|(?P<fold>\n[ \t])"
)
_PROBLEMS = {
    "ctl": "control character in the request head",
    "cr": "CR without LF in the request head",
    "lf": "LF without CR in the request head",
    "fold": "obsolete line folding in the request head",
}


def head_problem(head: bytes) -> str | None:
    """Why ``head`` must be refused (400) before h11 reads it, or None.

    ``head`` is the request head up to and including its blank line. Only
    the general path calls this: the fast parser's grammar excludes all of it.
    """
    match = _HEAD_PROBLEM.search(head)
    if match is None:
        return None
    return _PROBLEMS[match.lastgroup or "ctl"]


def ends_with_bare_lf(data: bytes) -> bool:
    """Whether an incomplete head (no CRLF CRLF yet) already holds a blank line made with a bare LF.

    Such a request is complete for a lenient client: waiting for a CRLF CRLF
    that never comes would answer it 408 after ``header_timeout``.
    """
    return b"\n\n" in data or b"\n\r\n" in data


def head_end(buf: bytes, max_header_bytes: int) -> int:
    """Where the request head at the start of ``buf`` ends (its CRLF CRLF), or -1: more bytes needed.

    Raises ClientGone: 431 for a head over ``max_header_bytes`` (whole or
    not), 400 for a blank line made with a bare LF (complete for a lenient
    client, which would otherwise wait ``header_timeout`` for a CRLF CRLF
    that never comes). Every driver's head reader asks this after each read.
    """
    end = buf.find(b"\r\n\r\n")
    if end >= 0:
        if end + 4 > max_header_bytes:
            raise ClientGone("request head too large", 431)
        return end
    if len(buf) > max_header_bytes:
        raise ClientGone("request head too large", 431)
    if buf and ends_with_bare_lf(buf):
        raise ClientGone("bad HTTP: LF without CR in the request head", 400)
    return -1


def conflicting_framing(headers: list[tuple[bytes, bytes]]) -> bool:
    """Both Content-Length and Transfer-Encoding (h11's header form).

    RFC 9112 6.1: the server may refuse such a request and must close the
    connection after answering it; h11 silently prefers Transfer-Encoding.
    """
    names = {name for name, _ in headers}
    return b"content-length" in names and b"transfer-encoding" in names


_PHRASES_TEXT = {k: v.decode() for k, v in _PHRASES.items()}
#: ``HTTP/1.1 <status> <phrase>\r\n``, built once per status.
_STATUS_LINES = {k: b"HTTP/1.1 %d %s\r\n" % (k, v) for k, v in _PHRASES.items()}


def status_phrase(status: int) -> bytes:
    return _PHRASES.get(status, b"")


def judge_h11_head(
    target: bytes, headers: list[tuple[bytes, bytes]], *, max_header_count: int, max_header_bytes: int
) -> None:
    """The checks h11 leaves to us on a head it parsed. Raises ClientGone (431, or 400).

    h11 bounds only a head still incomplete; one that arrived whole in a
    single read is measured here. With both framings h11 would go by
    Transfer-Encoding, and a proxy before us may have gone by Content-Length
    (request smuggling): 400, then close.
    """
    if len(headers) > max_header_count:
        raise ClientGone("too many headers", 431)
    if len(target) + sum(len(n) + len(v) + 4 for n, v in headers) > max_header_bytes:
        raise ClientGone("request head too large", 431)
    if conflicting_framing(headers):
        raise ClientGone("bad HTTP: Content-Length with Transfer-Encoding", 400)


def status_head(status: int, headers: list[tuple[str, str]]) -> bytes:
    """The status line and ``headers`` of a response, each line with its CRLF."""
    head = _STATUS_LINES.get(status) or f"HTTP/1.1 {status} \r\n".encode()
    if headers:
        head += "".join([f"{name}: {value}\r\n" for name, value in headers]).encode("latin-1")
    return head


def response_bytes(head: bytes, body: bytes, *, keep_alive: bool, head_only: bool) -> bytes:
    """A whole response: ``head`` (no Content-Length), the length, ``Connection: close`` unless kept alive, the body.

    A HEAD request's answer says the body's length and carries none.
    """
    if keep_alive:
        data = head + b"Content-Length: %d\r\n\r\n" % len(body)
    else:
        data = head + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
    if body and not head_only:
        data += body
    return data


def raw_refusal(status: int) -> bytes:
    """The whole answer refusing a request whose HTTP itself failed (then the connection closes)."""
    body = status_phrase(status)
    return (
        f"HTTP/1.1 {status} {body.decode()}\r\nConnection: close\r\n"
        f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def _wants_keep_alive(http_version: bytes, headers: list[tuple[bytes, bytes]]) -> bool:
    """HTTP/1.1 keeps the connection unless ``Connection: close``; 1.0 only on request."""
    tokens: set[bytes] = set()
    for name, value in headers:
        if name == b"connection":
            tokens.update(t.strip().lower() for t in value.split(b","))
    if http_version == b"1.0":
        return b"keep-alive" in tokens
    return b"close" not in tokens


def _keep_alive_11(connection: str | None) -> bool:
    """:func:`_wants_keep_alive` for HTTP/1.1, from the ``Connection`` header's text."""
    if connection is None:
        return True
    lowered = connection.lower()
    if "close" not in lowered:
        return True  # the usual "keep-alive": no token to split out
    return "close" not in [t.strip(" \t") for t in lowered.split(",")]
