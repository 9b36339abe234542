"""The per-client Socket.IO state machine ([SIO5] "Connection to a namespace").

Strategy: one :class:`Connection` per Engine.IO session, sans-IO like the
Engine.IO core. Engine.IO messages go in (:meth:`Connection.receive`), events
come out (:meth:`Connection.next_event`); the answers the server decides on
(accept or refuse a namespace, events, acks, disconnects) come back out of
the ``*_packets`` methods as Engine.IO wire items, ready for
``EngineSocket.send_many``. The rules the reference server enforces live here:
a client must CONNECT before anything else, within ``connect_timeout``; a
packet for a namespace it has not joined, a second CONNECT for a namespace
it already joined, or a CONNECT_ERROR from the client are protocol errors that
close only this client. A repeated CONNECT while the first is still being
decided is ignored: socket.io-client sends one when ``socket.connect()`` is
called on a socket that is already connecting, and the reference server
tolerates it (its namespace map is only filled once the connect completes).

Protocol 4 (the Socket.IO v1/v2 clients, over Engine.IO v3; PROTOCOL.md 3.2)
is the same machine with different edges: the server joins every client to
``/`` without being asked (:meth:`Connection.connect_root`), a CONNECT carries
no payload either way and its auth travels in the namespace's query string
(``0/admin?token=abc,``), and a refusal's payload is a plain JSON string.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, Final, Mapping
from urllib.parse import parse_qsl

from engineio import Wire
from engineio._util import trusted_builder

from ._events import (
    AckReceived,
    AnySocketIOEvent,
    ConnectRequested,
    ConnectTimedOut,
    DisconnectRequested,
    EventReceived,
    SocketIOEvent,
)
from ._errors import LocalSocketIOError, RemoteSocketIOError
from ._decoder import PacketDecoder
from ._encoder import encode_ack_fast, encode_event_fast, encode_packet
from ._packets import Dumps, Packet, PacketType

if TYPE_CHECKING:
    from ._parser import Decoder, Parser

__all__ = [
    "Connection",
    "NamespaceState",
    "ConnectRequested",
    "EventReceived",
    "AckReceived",
    "DisconnectRequested",
    "ConnectTimedOut",
    "SocketIOEvent",
    "encode_for_engine",
    "query_auth",
    "legacy_socket_id",
]



class NamespaceState(Enum):
    #: CONNECT received; middlewares and the connect handler are deciding.
    CONNECTING = "connecting"
    CONNECTED = "connected"


# (namespace, data, ack_id) without the frozen dataclass's __init__: the hot
# path makes one per incoming event.
_event_received = trusted_builder(EventReceived)


# A member read through its Enum class costs ~90 ns on CPython 3.11 (a
# descriptor call); the connection compares with these constants instead.
_CONNECTING: Final = NamespaceState.CONNECTING
_CONNECTED: Final = NamespaceState.CONNECTED

#: Query keys of the Engine.IO handshake itself; the rest is the application's.
_ENGINE_QUERY_KEYS = frozenset({"EIO", "transport", "t", "sid", "b64", "j"})


def query_auth(query: Mapping[str, str]) -> dict[str, Any]:
    """A protocol 4 client's auth for ``/``: its handshake query minus the Engine.IO keys.

    The v2 client sends its ``query`` option on the Engine.IO handshake; the
    implicit CONNECT to ``/`` has no other place for it.
    """
    return {k: v for k, v in query.items() if k not in _ENGINE_QUERY_KEYS}


def legacy_socket_id(namespace: str, engine_sid: str) -> str:
    """A protocol 4 socket's id (REF): the Engine.IO sid on ``/``, ``<nsp>#<sid>`` elsewhere.

    The v2 client computes the same id on its side, so the server has no choice.
    """
    return engine_sid if namespace == "/" else f"{namespace}#{engine_sid}"


def _split_namespace(raw: str) -> tuple[str, dict[str, Any]]:
    """``/admin?token=abc&x=1`` -> (``/admin``, ``{"token": "abc", "x": "1"}``), as REF's URL parse.

    Form decoding (``+`` is a space), the last value of a repeated key wins.
    """
    name, _, query = raw.partition("#")[0].partition("?")
    name = name or "/"
    return name, dict(parse_qsl(query, keep_blank_values=True)) if query else {}


def _shown(namespace: str) -> str:
    """A peer's namespace as an error reason may quote it: one short line, escaped.

    The reason ends up in a log line; the namespace is whatever the peer sent
    (up to max_payload bytes, newlines included).
    """
    return repr(namespace) if len(namespace) <= 40 else repr(namespace[:40]) + "..."


def encode_for_engine(packet: Packet, dumps: Dumps | None = None) -> list[Wire]:
    """A packet as Engine.IO message items: ``"4"`` + text, then raw attachments."""
    text, attachments = encode_packet(packet, dumps=dumps)
    if attachments:
        return ["4" + text, *attachments]
    return ["4" + text]


class Connection:
    """The Socket.IO state of one client (one Engine.IO session).

    ``protocol`` is the Socket.IO protocol revision: 5, or 4 for a client that
    came in over Engine.IO v3. Raises LocalSocketIOError for another value.
    """

    __slots__ = (
        "protocol",
        "namespaces",
        "decoder",
        "encode",
        "max_namespaces",
        "_events",
        "_connect_due",
        "_next_ack_id",
    )

    def __init__(
        self,
        now: float,
        *,
        connect_timeout: float = 45.0,
        decoder: PacketDecoder | None = None,
        dumps: Dumps | None = None,
        parser: Parser | None = None,
        max_namespaces: int = 100,
        protocol: int = 5,
    ) -> None:
        if protocol != 5 and protocol != 4:
            raise LocalSocketIOError(f"unknown Socket.IO protocol revision {protocol!r}")
        self.protocol = protocol
        self.namespaces: dict[str, NamespaceState] = {}
        #: The parser's halves: this client's decoder, and the packet encoder.
        self.decoder: Decoder
        self.encode: Callable[[Packet], list[Wire]]
        if parser is not None:
            self.decoder = decoder or parser.new_decoder()
            self.encode = parser.encode
        else:
            self.decoder = decoder or PacketDecoder()
            self.encode = encode_for_engine if dumps is None else partial(encode_for_engine, dumps=dumps)
        self.max_namespaces = max_namespaces
        self._events: list[AnySocketIOEvent] = []  # usually 0-1 items; a deque costs 760 bytes
        self._connect_due: float | None = now + connect_timeout
        self._next_ack_id = 0

    # ------------------------------------------------------------------ input

    def receive_event(self, data: str | bytes) -> EventReceived | None:
        """Like :meth:`receive`, but an EVENT comes back at once instead of through :meth:`next_event`.

        The hot path: most messages are events on a joined namespace, and the
        caller acts on them right away. Anything else (or an event arriving
        while others wait) is queued as usual and None returned.
        """
        events = self._events
        if events:
            self.receive(data)
            return None
        decoder = self.decoder
        if type(data) is str and type(decoder) is PacketDecoder:  # another parser has no fast path
            fast = decoder.event_fast(data)
            if fast is not None and self.namespaces.get(fast[0]) is _CONNECTED:
                return _event_received(*fast)
        self.receive(data)
        if len(events) == 1:
            event = events[0]
            if type(event) is EventReceived:
                events.pop()
                return event
        return None

    def receive(self, data: str | bytes) -> None:
        """Take one Engine.IO message.

        Raises RemoteSocketIOError when the client broke the protocol; the
        caller closes the Engine.IO session (and only it).
        """
        decoder = self.decoder
        packet = decoder.receive_text(data) if type(data) is str else decoder.receive_binary(data)  # type: ignore[arg-type]
        if packet is None:
            return  # attachments pending
        ptype = packet.type
        namespace = packet.namespace
        if ptype is PacketType.CONNECT and self.protocol == 4:
            # v4: the auth is the namespace's query string; a payload means nothing.
            namespace, auth = _split_namespace(namespace)
        state = self.namespaces.get(namespace)
        if ptype is PacketType.CONNECT:
            if state is _CONNECTING:
                return  # the answer to the first one answers this one too
            if state is not None:
                raise RemoteSocketIOError(f"second CONNECT for namespace {_shown(namespace)}")
            if len(self.namespaces) >= self.max_namespaces:
                raise RemoteSocketIOError("too many namespaces")
            self.namespaces[namespace] = _CONNECTING
            sent = True
            if self.protocol == 5:
                sent = packet.data is not None
                auth = packet.data if sent else {}
            self._events.append(ConnectRequested(namespace=namespace, auth=auth, auth_sent=sent))
            return
        if state is not _CONNECTED:
            raise RemoteSocketIOError(f"{ptype.name} for namespace {_shown(namespace)} not joined")
        if ptype is PacketType.EVENT or ptype is PacketType.BINARY_EVENT:
            self._events.append(EventReceived(namespace=namespace, data=packet.data, ack_id=packet.id))
        elif ptype is PacketType.ACK or ptype is PacketType.BINARY_ACK:
            assert packet.id is not None
            self._events.append(AckReceived(namespace=namespace, ack_id=packet.id, args=packet.data))
        elif ptype is PacketType.DISCONNECT:
            del self.namespaces[namespace]
            self._events.append(DisconnectRequested(namespace=namespace))
        else:
            raise RemoteSocketIOError(f"client sent {ptype.name}")

    def connect_root(self, auth: dict[str, Any]) -> None:
        """Protocol 4: join the client to ``/`` unasked, as every v4 server does.

        Produces the ConnectRequested the client never sends; the server then
        accepts or refuses it like any other. Raises LocalSocketIOError on a
        protocol 5 connection or when ``/`` is already joined.
        """
        if self.protocol != 4:
            raise LocalSocketIOError("only protocol 4 clients are connected to / implicitly")
        if "/" in self.namespaces:
            raise LocalSocketIOError("namespace / is already joined")
        self.namespaces["/"] = _CONNECTING
        self._events.append(ConnectRequested(namespace="/", auth=auth))

    def next_event(self) -> AnySocketIOEvent | None:
        """Pop the oldest event, or None."""
        return self._events.pop(0) if self._events else None

    # ----------------------------------------------------------------- output

    def _require(self, namespace: str, state: NamespaceState) -> None:
        if self.namespaces.get(namespace) is not state:
            raise LocalSocketIOError(
                f"namespace {namespace} is {self.namespaces.get(namespace)}, not {state.value}"
            )

    def accept(self, namespace: str, sid: str, pid: str | None = None) -> list[Wire]:
        """The client joined ``namespace`` as socket ``sid``: the CONNECT reply.

        ``pid`` is the private id of connection state recovery, when enabled.
        Protocol 4 replies with a bare CONNECT (``0`` / ``0/admin,``): its
        client derives the socket id itself (see :func:`legacy_socket_id`).
        """
        self._require(namespace, _CONNECTING)
        self.namespaces[namespace] = _CONNECTED
        self._connect_due = None
        data: dict[str, Any] | None
        if self.protocol == 4:
            data = None
        else:
            data = {"sid": sid} if pid is None else {"sid": sid, "pid": pid}
        return self.encode(
            Packet(type=PacketType.CONNECT, namespace=namespace, data=data)
        )

    def refuse(self, namespace: str, message: str, data: Any = None) -> list[Wire]:
        """Refuse a namespace: CONNECT_ERROR ``{"message", "data"?}``; the client stays.

        Protocol 4 sends a plain JSON string instead, ``data`` if it is a
        non-empty string, else ``message`` (REF: ``err.data || err.message``;
        an object ``data`` goes as is).
        """
        if self.namespaces.get(namespace) is _CONNECTING:
            del self.namespaces[namespace]
        payload: dict[str, Any] | str
        if self.protocol == 4:
            payload = data if isinstance(data, dict) or (isinstance(data, str) and data) else message
        else:
            payload = {"message": message}
            if data is not None:
                payload["data"] = data
        return self.encode(
            Packet(type=PacketType.CONNECT_ERROR, namespace=namespace, data=payload)
        )

    def refuse_unknown(self, namespace: str) -> list[Wire]:
        """Refuse a namespace nobody serves: ``{"message": "Invalid namespace"}`` in both protocols (REF)."""
        if self.namespaces.get(namespace) is _CONNECTING:
            del self.namespaces[namespace]
        return self.encode(
            Packet(
                type=PacketType.CONNECT_ERROR,
                namespace=namespace,
                data={"message": "Invalid namespace"},
            )
        )

    def disconnect(self, namespace: str) -> list[Wire]:
        """Leave ``namespace`` from the server side: the DISCONNECT packet (or nothing)."""
        if self.namespaces.pop(namespace, None) is not _CONNECTED:
            return []
        return self.encode(Packet(type=PacketType.DISCONNECT, namespace=namespace))

    def event(self, namespace: str, data: list[Any], ack_id: int | None = None) -> list[Wire]:
        """An EVENT (``data`` = ``[name, *args]``), binary handled."""
        if self.encode is encode_for_engine:
            wire = encode_event_fast(namespace, data, ack_id)
            if wire is not None:
                return [wire]
        return self.encode(
            Packet(type=PacketType.EVENT, namespace=namespace, data=data, id=ack_id)
        )

    def ack(self, namespace: str, ack_id: int, args: list[Any]) -> list[Wire]:
        if self.encode is encode_for_engine:
            wire = encode_ack_fast(namespace, ack_id, args)
            if wire is not None:
                return [wire]
        return self.encode(
            Packet(type=PacketType.ACK, namespace=namespace, data=args, id=ack_id)
        )

    def new_ack_id(self) -> int:
        ack_id = self._next_ack_id
        self._next_ack_id += 1
        return ack_id

    def connected(self, namespace: str) -> bool:
        return self.namespaces.get(namespace) is _CONNECTED

    # ------------------------------------------------------------------- time

    def next_deadline(self) -> float | None:
        return self._connect_due

    def handle_timeout(self, now: float) -> None:
        due = self._connect_due
        if due is not None and now >= due:
            self._connect_due = None
            if not any(s is _CONNECTED for s in self.namespaces.values()):
                self._events.append(ConnectTimedOut())
