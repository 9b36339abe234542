"""Read-only views python-socketio users (and Flask-SocketIO's tests) reach for.

Strategy: python-socketio exposes its Engine.IO server as ``server.eio`` and
each connection's WSGI environ as ``server.environ[eio_sid]``. Ours are
built differently (an :class:`~transports.EngineServer` with a frozen
:class:`engineio.Config`; the handshake request kept on the Engine.IO
session), so these are views over what we already hold, not copies of
python-socketio's objects: :class:`EngineView` answers the settings by
their python-engineio names, :class:`EnvironMap` gives each live Engine.IO
session a WSGI environ built once from its handshake request (integrations
such as the Flask layer may put their own environ there, and keep per
connection data in it, as Flask-SocketIO keeps ``saved_session``). Entries
live as long as their Engine.IO session: the map is keyed weakly by it.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Iterator, Mapping

if TYPE_CHECKING:
    from transports import EngineServer, EngineSocket

__all__ = ["EngineView", "EnvironMap"]


class EngineView:
    """``server.eio``: the Engine.IO settings under python-engineio's attribute names (read-only)."""

    __slots__ = ("_engine",)

    def __init__(self, engine: "EngineServer") -> None:
        self._engine = engine

    @property
    def ping_interval(self) -> float:
        return self._engine.config.ping_interval

    @property
    def ping_timeout(self) -> float:
        return self._engine.config.ping_timeout

    @property
    def max_http_buffer_size(self) -> int:
        return self._engine.config.max_payload

    @property
    def allow_upgrades(self) -> bool:
        return self._engine.config.allow_upgrades

    @property
    def transports(self) -> list[str]:
        return list(self._engine.config.transports)

    @property
    def http_compression(self) -> bool:
        return self._engine.http_compression

    @property
    def compression_threshold(self) -> int:
        return self._engine.compression_threshold

    @property
    def cookie(self) -> Any:
        """The cookie option as given: its name alone when only a name was set."""
        options = self._engine.cookie
        if options is not None and set(options) == {"name"}:
            return options["name"]
        return options

    @property
    def sockets(self) -> Mapping[str, EngineSocket]:
        """The live Engine.IO sessions by id."""
        return self._engine.sessions

    def __repr__(self) -> str:
        return f"<EngineView of {self._engine!r}>"


class EnvironMap(Mapping[str, dict[str, Any]]):
    """``server.environ``: Engine.IO session id -> the WSGI environ of its handshake request.

    Built on first use and kept for the session's life; ``environ_map[sid] =
    environ`` replaces it (an integration with a richer environ). A sid that
    is not a live session raises KeyError.
    """

    def __init__(self, engine: "EngineServer", build: Any) -> None:
        self._engine = engine
        self._build = build
        self._environs: weakref.WeakKeyDictionary[EngineSocket, dict[str, Any]] = (
            weakref.WeakKeyDictionary()
        )

    def for_socket(self, esock: EngineSocket) -> dict[str, Any]:
        environ = self._environs.get(esock)
        if environ is None:
            environ = self._environs[esock] = self._build(esock)
        return environ

    def __getitem__(self, sid: str) -> dict[str, Any]:
        esock = self._engine.sessions.get(sid)
        if esock is None:
            raise KeyError(sid)
        return self.for_socket(esock)

    def __setitem__(self, sid: str, environ: dict[str, Any]) -> None:
        esock = self._engine.sessions.get(sid)
        if esock is None:
            raise KeyError(sid)
        self._environs[esock] = environ

    def set_for_socket(self, esock: EngineSocket, environ: dict[str, Any]) -> None:
        self._environs[esock] = environ

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._engine.sessions))

    def __len__(self) -> int:
        return len(self._engine.sessions)


def handshake_environ(esock: EngineSocket) -> dict[str, Any]:
    """A GET environ for the handshake request of ``esock`` (its Host names the server)."""
    from transports.gevent import environ_for

    request = esock.request
    host = request.header_map.get("host") or "localhost"
    name, _, port = host.rpartition(":")
    if not name or not port.isdigit():
        name, port = host, ("443" if request.secure else "80")
    return environ_for(request, server_address=(name, int(port)), method="GET")


class PeerViews:
    """The :class:`~socketio_core.Server` members these views give (a mixin of it)."""

    engine: "EngineServer"
    _sockets: dict[str, Any]
    _environ_map: EnvironMap | None = None

    @property
    def eio(self) -> EngineView:
        """python-socketio's ``server.eio``: the Engine.IO settings (read-only view)."""
        return EngineView(self.engine)

    @property
    def environ(self) -> EnvironMap:
        """python-socketio's ``server.environ``: Engine.IO sid -> handshake WSGI environ."""
        if self._environ_map is None:
            self._environ_map = EnvironMap(self.engine, handshake_environ)
        return self._environ_map

    def namespace_of(self, sid: str) -> str | None:
        """The namespace socket ``sid`` belongs to, if it is on this process."""
        sock = self._sockets.get(sid)
        return None if sock is None else str(sock.namespace)
