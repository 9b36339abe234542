"""A pure-Python Socket.IO v5 server on a sans-IO protocol core.

The package's layers (see README, "Layout"):

- :mod:`socketio_core.protocol`: the sans-IO Socket.IO protocol;
- :mod:`socketio_core.server`: the public :class:`Server` on top of it;
- :mod:`socketio_core.flask`, :mod:`socketio_core.redis`,
  :mod:`socketio_core.admin`, :mod:`socketio_core.echo`: integrations, each
  using only the server's public seams.

The names below load lazily, so that importing the protocol package (or
``socketio_core.emitter``) never drags in the server, gevent or the I/O
layer.

Importing the package first makes sure the ``engineio`` it will use is this
project's (:func:`_require_our_engineio`): python-engineio installs a package
of the same name, and the two cannot share an environment.
"""

from __future__ import annotations

import importlib.util
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn


def _require_our_engineio() -> None:
    """Import ``engineio``; raise ``EngineioConflictError`` unless it is ours.

    Our ``engineio/__init__.py`` itself refuses to load beside an installed
    python-engineio distribution (and raises the error with the message). What
    only this side can see is a foreign ``engineio`` loading instead of ours:
    python-engineio's files overwrote ours, or its folder comes first on
    ``sys.path``. Ours defines a marker attribute; theirs does not. Then our
    ``engineio/_identity.py`` (the class and the message) is loaded from this
    distribution's own folder, since ``import engineio._identity`` would look
    inside the foreign package.
    """
    try:
        import engineio
    except ImportError as exc:
        if type(exc).__name__ == "EngineioConflictError":
            raise  # ours, refusing to load beside python-engineio
        if _source_has_marker():
            raise  # ours, broken some other way: not a collision
        _raise_conflict(f"importing engineio failed: {exc!r}", exc)
    if getattr(engineio, "__socketio_core_engineio__", None) is not True:
        _raise_conflict(f"engineio loaded from {getattr(engineio, '__file__', None) or engineio.__path__}")


def _source_has_marker() -> bool:
    spec = importlib.util.find_spec("engineio")
    origin = spec.origin if spec is not None else None
    try:
        return origin is not None and "__socketio_core_engineio__" in Path(origin).read_text("utf-8")
    except OSError:
        return False


def _raise_conflict(where: str, cause: BaseException | None = None) -> NoReturn:
    path = Path(__file__).resolve().parent.parent / "engineio" / "_identity.py"
    spec = importlib.util.spec_from_file_location("socketio_core._engineio_identity", path)
    if spec is None or spec.loader is None:  # our own file is gone: say it plainly
        raise ImportError(f"{where}; socketio-core's engineio is missing from {path.parent}") from cause
    identity = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(identity)
    raise identity.EngineioConflictError(where) from cause


_require_our_engineio()

if TYPE_CHECKING:
    from .protocol import (
        BinaryFound,
        Connection,
        JsonParser,
        LocalSocketIOError,
        MsgpackParser,
        NotSerializableError,
        OrjsonCodec,
        Packet,
        PacketDecoder,
        PacketType,
        Parser,
        RemoteSocketIOError,
        SocketIOError,
        encode_packet,
    )
    from .server import (
        Ack,
        Adapter,
        ConnectionRefusedError,
        Handshake,
        MemoryAdapter,
        Namespace,
        Server,
        TooManyPendingAcks,
        WSGIApp,
    )
    from .server import ASGIApp, AsyncNamespace, AsyncServer
    from .server._compat import (
        AsyncAioPikaManager,
        AsyncRedisManager,
        KafkaManager,
        KombuManager,
        RedisManager,
        ZmqManager,
    )

__all__ = [
    "Ack",
    "Adapter",
    "MemoryAdapter",
    "Connection",
    "LocalSocketIOError",
    "RemoteSocketIOError",
    "NotSerializableError",
    "SocketIOError",
    "Namespace",
    "Packet",
    "PacketDecoder",
    "PacketType",
    "encode_packet",
    "BinaryFound",
    "Parser",
    "JsonParser",
    "MsgpackParser",
    "OrjsonCodec",
    "ConnectionRefusedError",
    "Handshake",
    "Server",
    "TooManyPendingAcks",
    # python-socketio's names (see the README, "Coming from python-socketio")
    "WSGIApp",
    "exceptions",
    "RedisManager",
    "KombuManager",
    "KafkaManager",
    "ZmqManager",
    "AsyncServer",
    "AsyncNamespace",
    "AsyncRedisManager",
    "AsyncAioPikaManager",
    "ASGIApp",
]

_SERVER_NAMES = frozenset(
    {"Ack", "Adapter", "MemoryAdapter", "Namespace", "ConnectionRefusedError", "Handshake", "Server", "WSGIApp",
     "TooManyPendingAcks", "AsyncServer", "AsyncNamespace", "ASGIApp"}
)
_COMPAT_NAMES = frozenset(
    {"RedisManager", "KombuManager", "KafkaManager", "ZmqManager", "AsyncRedisManager", "AsyncAioPikaManager"}
)


def __getattr__(name: str) -> Any:
    if name not in __all__:
        if name in ("Client", "SimpleClient", "AsyncClient", "AsyncSimpleClient"):
            from .server._compat import CLIENT_ADVICE

            raise AttributeError(f"module {__name__!r} has no attribute {name!r}: {CLIENT_ADVICE}")
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name == "exceptions":
        return import_module(".exceptions", __name__)
    if name in _COMPAT_NAMES:
        return getattr(import_module(".server._compat", __name__), name)
    home = ".server" if name in _SERVER_NAMES else ".protocol"
    return getattr(import_module(home, __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
