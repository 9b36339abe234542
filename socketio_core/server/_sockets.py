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
from typing import TYPE_CHECKING, Any, Callable, Coroutine, Protocol

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


class Handshake:
    """What the client's first request said; available to handlers as ``environ``.

    It reads like python-socketio's WSGI environ too: ``environ["REMOTE_ADDR"]``,
    ``environ.get("HTTP_AUTHORIZATION")``, ``"QUERY_STRING" in environ`` (the
    upper-case keys come from :attr:`environ`, built by :func:`wsgi_environ`).

    Read-only, like the frozen dataclass it was. Built from a request,
    :attr:`headers` and :attr:`query` are the request's, parsed on first use
    (the Engine.IO session keeps the request in a compact form; parsed for
    every connection they were about 1 KB of an idle one, issue 19);
    given outright (``headers=``, ``query=``) they are kept as given.
    """

    __slots__ = ("_headers", "_query", "address", "secure", "url", "issued", "auth", "auth_sent",
                 "request", "_environ")

    _headers: dict[str, str] | None
    _query: dict[str, str] | None
    _environ: dict[str, Any] | None
    address: str
    secure: bool
    url: str
    issued: float
    auth: dict[str, Any]
    #: False when the client's CONNECT carried no auth payload (``auth`` is then ``{}``).
    auth_sent: bool
    #: The handshake request: headers, query and :attr:`environ` are built from it on first use.
    request: Any

    def __init__(
        self,
        *,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        address: str,
        secure: bool,
        url: str,
        issued: float,
        auth: dict[str, Any] | None = None,
        auth_sent: bool = True,
        request: Any = None,
        _environ: dict[str, Any] | None = None,
    ) -> None:
        init = object.__setattr__
        init(self, "_headers", headers)
        init(self, "_query", query)
        init(self, "address", address)
        init(self, "secure", secure)
        init(self, "url", url)
        init(self, "issued", issued)
        init(self, "auth", {} if auth is None else auth)
        init(self, "auth_sent", auth_sent)
        init(self, "request", request)
        #: The environ once built, or one given outright (``Handshake(_environ=...)``).
        init(self, "_environ", _environ)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: a Handshake is read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: a Handshake is read-only")

    @property
    def headers(self) -> dict[str, str]:
        """Headers by lower-case name (repeated ones joined with ", ")."""
        headers = self._headers
        if headers is None:
            parsed: dict[str, str] = {} if self.request is None else self.request.header_map
            object.__setattr__(self, "_headers", parsed)
            return parsed
        return headers

    @property
    def query(self) -> dict[str, str]:
        """The handshake URL's query parameters (the last of a repeated one)."""
        query = self._query
        if query is None:
            parsed: dict[str, str] = {} if self.request is None else self.request.query
            object.__setattr__(self, "_query", parsed)
            return parsed
        return query

    def _fields(self) -> tuple[Any, ...]:
        return (self.headers, self.query, self.address, self.secure, self.url, self.issued, self.auth,
                self.auth_sent)

    def __eq__(self, other: object) -> bool:
        if type(other) is not Handshake:
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # mutable dicts inside, like the dataclass

    def __repr__(self) -> str:
        return (
            f"Handshake(headers={self.headers!r}, query={self.query!r}, address={self.address!r}, "
            f"secure={self.secure!r}, url={self.url!r}, issued={self.issued!r}, auth={self.auth!r}, "
            f"auth_sent={self.auth_sent!r})"
        )

    @property
    def environ(self) -> dict[str, Any]:
        """The handshake request as a WSGI environ (empty when built without a request).

        Built on first use and kept: most handlers never read it, and built
        eagerly it was a tenth of what an idle connection costs (a dict of
        every header again, under ``HTTP_*`` names: ~0.7 KB).
        """
        environ = self._environ
        if environ is None:
            built = wsgi_environ(self.request) if self.request is not None else {}
            object.__setattr__(self, "_environ", built)
            return built
        return environ

    def get(self, key: str, default: Any = None) -> Any:
        """Mapping-style access for code written against WSGI environs (or our field names)."""
        if key in self.environ:
            return self.environ[key]
        return getattr(self, key, default) if key in _HANDSHAKE_KEYS else default

    def __getitem__(self, key: str) -> Any:
        if key in self.environ:
            return self.environ[key]
        if key in _HANDSHAKE_KEYS:
            return getattr(self, key)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return key in self.environ or key in _HANDSHAKE_KEYS


#: The field names mapping-style access reads (not the request it keeps, nor its cache).
_HANDSHAKE_KEYS = frozenset(
    {"headers", "query", "address", "secure", "url", "issued", "auth", "auth_sent", "environ"}
)


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
        "sid", "namespace", "key", "client", "handshake", "data", "connected", "writable", "gone",
        "pending", "pid", "recovered",
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
        #: Packets go straight to the session (connected, and not held behind
        #: the CONNECT reply: see ``EngineGlue._accept``).
        self.writable = False
        self.gone = False
        #: Packets emitted while the connect handler runs; sent after the CONNECT reply.
        #: None while there are none (no empty list kept per idle socket).
        self.pending: list[Any] | None = None
        #: Connection state recovery: private id, and whether this socket was restored.
        self.pid: str | None = None
        self.recovered = False

    @property
    def engine_socket(self) -> EngineSocket:
        return self.client.esock

    def deliver(self, wires: list[Any]) -> None:
        """Write encoded packets to this socket: the one sink of every emit and ack.

        Writable: straight to the Engine.IO session. Still connecting (or
        held just behind the CONNECT reply): kept, in order. Gone: dropped.
        """
        if self.writable:
            esock = self.client.esock
            if len(wires) == 1:
                esock.send_encoded(wires[0])
            else:
                esock.send_many(wires)
        elif not self.gone:
            if self.pending is None:
                self.pending = []
            self.pending.extend(wires)


class InOrder:
    """Runs one client's event handlers one after another, in arrival order.

    python-socketio's ``async_handlers=False``: a handler that waits holds
    back the next event of the same client (never other clients': the queue
    is drained in a worker, not on the loop). An ``async def`` handler
    (AsyncServer) is handed over with :meth:`hold` while it is drained: the
    queue goes on once its coroutine ended (``run_coroutine`` runs it).
    """

    __slots__ = ("_spawn", "_queue", "_draining", "_run_coroutine", "_held")

    def __init__(
        self, spawn: Callable[..., None],
        run_coroutine: Callable[[Coroutine[Any, Any, Any]], None] | None = None,
    ) -> None:
        self._spawn = spawn
        self._queue: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._draining = False
        self._run_coroutine = run_coroutine
        self._held: Coroutine[Any, Any, Any] | None = None

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        self._queue.append((fn, args))
        if not self._draining:
            self._draining = True
            self._spawn(self._drain)

    def hold(self, pending: Coroutine[Any, Any, Any]) -> None:
        """The handler being drained ends in ``pending``: the next one waits for it."""
        self._held = pending

    def _drain(self) -> None:
        queue = self._queue
        waiting = False
        try:
            while queue:
                fn, args = queue.popleft()
                fn(*args)
                held, self._held = self._held, None
                if held is not None:
                    assert self._run_coroutine is not None
                    waiting = True  # still draining: _after goes on
                    self._run_coroutine(self._after(held))
                    return
        finally:
            if not waiting:
                self._draining = False
                if queue:  # a handler raised: the rest still run, in order
                    self._draining = True
                    self._spawn(self._drain)

    async def _after(self, held: Coroutine[Any, Any, Any]) -> None:
        try:
            await held
        finally:
            self._spawn(self._drain)


class Client:
    """The Socket.IO side of one Engine.IO session.

    ``process`` drains the connection's events (the engine glue's loop); the
    gevent scheduler calls :meth:`on_deadline` when the connect timeout is due.
    ``run_handler(fn, *args)`` starts an event's handler: in a worker of its
    own, or after the client's previous ones (:class:`InOrder`);
    ``finish_handler(coro)`` runs an ``async def`` handler's end (a task, or
    held by :class:`InOrder` so that the next event waits for it).
    """

    __slots__ = (
        "esock", "conn", "sockets", "acks", "scheduled_at", "process", "run_handler", "finish_handler",
    )

    def __init__(
        self, esock: EngineSocket, conn: Connection, process: Callable[["Client"], None],
        acks: AckTable, run_handler: Callable[..., None],
        finish_handler: Callable[[Coroutine[Any, Any, Any]], None],
    ) -> None:
        self.esock = esock
        self.conn = conn
        self.process = process
        self.run_handler = run_handler
        self.finish_handler = finish_handler
        #: namespace -> socket
        self.sockets: dict[str, Socket] = {}
        #: The acks this client owes us (an :class:`~._acks.AckWaiter` for ``call``).
        self.acks = acks
        self.scheduled_at: float | None = None

    def on_deadline(self, now: float) -> None:
        self.conn.handle_timeout(now)
        self.process(self)
