"""The parser seam: how Socket.IO packets become Engine.IO messages and back.

A *parser* is what socket.io calls the ``parser`` option: the codec both ends
must agree on. It is chosen per :class:`~socketio_core.Server` (never process
wide) and has two duties:

* ``encode(packet)`` turns one :class:`Packet` into the Engine.IO wire items
  that carry it: ``str`` for a text message, ``bytes`` for a binary one. The
  server encodes a broadcast once and hands the same items to every
  recipient, so ``encode`` must not depend on who receives the packet.
* ``new_decoder()`` returns the decoder of one connection: an object whose
  ``receive_text`` / ``receive_binary`` take each Engine.IO message in order
  and return the completed :class:`Packet` (or ``None`` while one spans
  several messages), raising :class:`RemoteSocketIOError` on bad input.

:class:`JsonParser` is the default, socket.io-parser's text format with binary
attachments (``_packets``); ``MsgpackParser`` (``_msgpack``) is the npm
socket.io-msgpack-parser's. ``JsonParser.encode`` *is* the packet encoder
(no wrapper call), so choosing the default costs nothing. Sans-IO.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

from engineio import Wire

from ._connection import encode_for_engine
from ._decoder import PacketDecoder
from ._encoder import encode_packet
from ._packets import (
    DEFAULT_MAX_ATTACHMENT_BYTES,
    DEFAULT_MAX_ATTACHMENTS,
    DEFAULT_MAX_DEPTH,
    Dumps,
    Loads,
    Packet,
)

__all__ = ["Wire", "Decoder", "Parser", "JsonParser", "encode_for_engine", "make_parser"]


class Decoder(Protocol):
    """The per-connection half of a parser (see the module docstring)."""

    def receive_text(self, text: str) -> Packet | None: ...

    def receive_binary(self, data: bytes | bytearray | memoryview) -> Packet | None: ...


class Parser(Protocol):
    """A Socket.IO parser: ``Server(parser=...)`` takes any object of this shape."""

    def encode(self, packet: Packet) -> list[Wire]: ...

    def new_decoder(self) -> Decoder: ...


def _encoder_with(dumps: Dumps, finds_binary: bool) -> Callable[[Packet], list[Wire]]:
    def encode(packet: Packet) -> list[Wire]:
        text, attachments = encode_packet(packet, dumps=dumps, dumps_finds_binary=finds_binary)
        if attachments:
            return ["4" + text, *attachments]
        return ["4" + text]

    return encode


def _json_codec(json: Any) -> Any:
    if json is None or json == "json":
        return None
    if json == "orjson":
        from ._orjson import OrjsonCodec

        return OrjsonCodec()
    if isinstance(json, str):
        raise ValueError(f"unknown json codec {json!r} (use 'json', 'orjson' or an object)")
    if not (callable(getattr(json, "dumps", None)) and callable(getattr(json, "loads", None))):
        raise TypeError("json must be an object with dumps() and loads()")
    return json


class JsonParser:
    """socket.io-parser's format: text packets, binary as attachments (the default).

    ``json`` picks the JSON codec: ``None``/``"json"`` for the built-in
    JSON.stringify-compatible one, ``"orjson"`` for :class:`OrjsonCodec`
    (the ``fast`` extra), or any object with ``dumps(obj) -> str`` and
    ``loads(str)``. A codec whose ``dumps`` raises :class:`BinaryFound` on a
    buffer may set ``finds_binary = True`` to spare the walk for buffers that
    an arbitrary ``dumps`` needs. The limits apply to each connection's
    decoder (see :class:`PacketDecoder`).
    """

    __slots__ = ("encode", "codec", "_loads", "max_attachments", "max_depth", "max_attachment_bytes")

    encode: Callable[[Packet], list[Wire]]

    def __init__(
        self,
        json: Any = None,
        *,
        max_attachments: int = DEFAULT_MAX_ATTACHMENTS,
        max_depth: int = DEFAULT_MAX_DEPTH,
        max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
    ) -> None:
        self.codec: Any = _json_codec(json)
        self.max_attachments = max_attachments
        self.max_depth = max_depth
        self.max_attachment_bytes = max_attachment_bytes
        self._loads: Loads | None = None
        if self.codec is None:
            self.encode = encode_for_engine
        else:
            self._loads = self.codec.loads
            self.encode = _encoder_with(
                self.codec.dumps, bool(getattr(self.codec, "finds_binary", False))
            )
        self.new_decoder()  # refuses bad limits now rather than at the first client

    def new_decoder(self) -> PacketDecoder:
        return PacketDecoder(
            loads=self._loads,
            max_attachments=self.max_attachments,
            max_depth=self.max_depth,
            max_attachment_bytes=self.max_attachment_bytes,
        )


def make_parser(parser: Any = None, json: Any = None, *, max_attachments: int = DEFAULT_MAX_ATTACHMENTS) -> Parser:
    """Resolve ``Server(parser=..., json=...)``: ``"json"`` (default), ``"msgpack"`` or an object.

    ``json`` and ``max_attachments`` configure the default parser only;
    passing ``json`` along with another parser is an error, not a silent no-op.
    """
    if parser is None or parser == "json":
        return JsonParser(json, max_attachments=max_attachments)
    if json is not None:
        raise ValueError("json= configures the default parser; it cannot be combined with parser=")
    if parser == "msgpack":
        from ._msgpack import MsgpackParser

        return MsgpackParser()
    if isinstance(parser, str):
        raise ValueError(f"unknown parser {parser!r} (use 'json', 'msgpack' or a parser object)")
    if not (callable(getattr(parser, "encode", None)) and callable(getattr(parser, "new_decoder", None))):
        raise TypeError("parser must have encode(packet) and new_decoder()")
    result: Parser = parser
    return result
