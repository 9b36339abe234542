"""Per-client and per-socket state: what the server keeps for each connection.

One Engine.IO session carries one :class:`Client` (its sans-IO Socket.IO
:class:`~socketio_core.protocol.Connection`, its pending acks); each namespace
the client joined is a :class:`Socket` with its own sid, session data and
handshake. The server's engine glue creates and forgets them; emits write
through :meth:`Socket.deliver`, the one place that knows whether a socket
can be written to yet (its connect handler may still be running).

Integrations read sockets through :class:`SocketView`, the read-only face
:meth:`Server.local_socket` hands out; the mutable fields stay the server's.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Protocol

if TYPE_CHECKING:
    from transports import EngineSocket

from ..protocol._connection import Connection
from ._acks import AckTable

__all__ = ["Client", "Handshake", "InOrder", "Socket", "SocketView", "wsgi_environ"]


def wsgi_environ(request: Any) -> dict[str, Any]:
    """A WSGI-style environ of the handshake request (what python-socketio hands handlers).

    ``REQUEST_METHOD``, ``PATH_INFO``, ``QUERY_STRING``, ``REMOTE_ADDR``,
    ``REMOTE_PORT``, ``wsgi.url_scheme``, ``CONTENT_TYPE``/``CONTENT_LENGTH``
    and one ``HTTP_*`` key per header (repeated headers joined with ``,``).
    """
    address = request.remote_addr or ("", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": request.path,
        "QUERY_STRING": request.query_string,
        "RAW_URI": request.target,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": address[0],
        "REMOTE_PORT": str(address[1]),
        "wsgi.url_scheme": "https" if request.secure else "http",
    }
    for name, value in request.header_map.items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key] = value
    return environ


@dataclass(frozen=True, slots=True, kw_only=True)
class Handshake:
    """What the client's first request said; available to handlers as ``environ``.

    It reads like python-socketio's WSGI environ too: ``environ["REMOTE_ADDR"]``,
    ``environ.get("HTTP_AUTHORIZATION")``, ``"QUERY_STRING" in environ`` (the
    upper-case keys come from :attr:`environ`, built by :func:`wsgi_environ`).
    """

    headers: dict[str, str]
    query: dict[str, str]
    address: str
    secure: bool
    url: str
    issued: float
    auth: dict[str, Any] = field(default_factory=dict)
    #: False when the client's CONNECT carried no auth payload (``auth`` is then ``{}``).
    auth_sent: bool = True
    #: The handshake request as a WSGI environ (empty when built without a request).
    environ: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        """Mapping-style access for code written against WSGI environs (or our field names)."""
        if key in self.environ:
            return self.environ[key]
        return getattr(self, key, default) if key in self.__dataclass_fields__ else default

    def __getitem__(self, key: str) -> Any:
        if key in self.environ:
            return self.environ[key]
        if key in self.__dataclass_fields__:
            return getattr(self, key)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return key in self.environ or key in self.__dataclass_fields__


class SocketView(Protocol):
    """A socket of this process as integrations may see it (read-only).

    ``connected`` is False while the connect handler runs (and after the
    socket left); ``engine_socket`` is the Engine.IO session under it, shared
    by the client's namespaces (its ``sid``, ``transport``, ``request``).
    """

    @property
    def sid(self) -> str: ...

    @property
    def namespace(self) -> str: ...

    @property
    def handshake(self) -> Handshake: ...

    @property
    def data(self) -> dict[str, Any]: ...

    @property
    def connected(self) -> bool: ...

    @property
    def engine_socket(self) -> EngineSocket: ...


class Socket:
    """One client's membership of one namespace."""

    __slots__ = (
        "sid", "namespace", "key", "client", "handshake", "data", "connected", "gone", "pending",
        "pid", "recovered",
    )

    def __init__(
        self, sid: str, namespace: str, key: str, client: "Client", handshake: Handshake
    ) -> None:
        self.sid = sid
        self.namespace = namespace
        #: Where its handlers are registered: the namespace itself, or the
        #: dynamic pattern it matched when it connected.
        self.key = key
        self.client = client
        self.handshake = handshake
        self.data: dict[str, Any] = {}
        self.connected = False
        self.gone = False
        #: Packets emitted while the connect handler runs; sent after the CONNECT reply.
        self.pending: list[Any] = []
        #: Connection state recovery: private id, and whether this socket was restored.
        self.pid: str | None = None
        self.recovered = False

    @property
    def engine_socket(self) -> EngineSocket:
        return self.client.esock

    def deliver(self, wires: list[Any]) -> None:
        """Write encoded packets to this socket: the one sink of every emit and ack.

        Connected: straight to the Engine.IO session. Still connecting: kept
        until the CONNECT reply is out. Gone: dropped.
        """
        if self.connected:
            esock = self.client.esock
            if len(wires) == 1:
                esock.send_encoded(wires[0])
            else:
                esock.send_many(wires)
        elif not self.gone:
            self.pending.extend(wires)


class InOrder:
    """Runs one client's event handlers one after another, in arrival order.

    python-socketio's ``async_handlers=False``: a handler that waits holds
    back the next event of the same client (never other clients': the queue
    is drained in a worker, not on the loop).
    """

    __slots__ = ("_spawn", "_queue", "_draining")

    def __init__(self, spawn: Callable[..., None]) -> None:
        self._spawn = spawn
        self._queue: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._draining = False

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        self._queue.append((fn, args))
        if not self._draining:
            self._draining = True
            self._spawn(self._drain)

    def _drain(self) -> None:
        queue = self._queue
        try:
            while queue:
                fn, args = queue.popleft()
                fn(*args)
        finally:
            self._draining = False
            if queue:  # a handler raised: the rest still run, in order
                self._draining = True
                self._spawn(self._drain)


class Client:
    """The Socket.IO side of one Engine.IO session.

    ``process`` drains the connection's events (the engine glue's loop); the
    gevent scheduler calls :meth:`on_deadline` when the connect timeout is due.
    ``run_handler(fn, *args)`` starts an event's handler: in a worker of its
    own, or after the client's previous ones (:class:`InOrder`).
    """

    __slots__ = ("esock", "conn", "sockets", "acks", "scheduled_at", "process", "run_handler")

    def __init__(
        self, esock: EngineSocket, conn: Connection, process: Callable[["Client"], None],
        acks: AckTable, run_handler: Callable[..., None],
    ) -> None:
        self.esock = esock
        self.conn = conn
        self.process = process
        self.run_handler = run_handler
        #: namespace -> socket
        self.sockets: dict[str, Socket] = {}
        #: The acks this client owes us (an :class:`~._acks.AckWaiter` for ``call``).
        self.acks = acks
        self.scheduled_at: float | None = None

    def on_deadline(self, now: float) -> None:
        self.conn.handle_timeout(now)
        self.process(self)
