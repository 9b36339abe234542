"""Integrations and adapters use the server's documented seams, never its private parts.

The integrations (flask, redis, admin, echo) are read as source: no import of
a private name from the server package, no attribute access to a private
attribute of :class:`Server` (``._sockets``, ``._hub``...). Adapters reach
the server only through :class:`LocalDelivery`: an adapter attached to an
object that has nothing else still does its job.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, Callable

import pytest

import socketio_core
from socketio_core.server import LocalDelivery, MemoryAdapter, Server, SocketInfo
from transports import EngineHandler

from ._fakes import FakeEngineSocket, connect

INTEGRATIONS = ["flask", "redis", "admin", "echo", "cluster"]
PACKAGE = Path(socketio_core.__file__).parent


def _server_private_names() -> set[str]:
    names: set[str] = set()
    for cls in Server.__mro__:
        names.update(n for n in vars(cls) if n.startswith("_") and not n.startswith("__"))
    server = Server()
    names.update(n for n in vars(server) if n.startswith("_") and not n.startswith("__"))
    return names


def _modules() -> list[Path]:
    return sorted(p for name in INTEGRATIONS for p in (PACKAGE / name).glob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_integrations_import_only_public_server_names(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "server":
            assert node.module == "server", f"{path}: imports the private module ..{node.module}"
            assert all(not a.name.startswith("_") for a in node.names), f"{path}: private import"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_integrations_touch_no_private_server_attribute(path: Path) -> None:
    private = _server_private_names()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr in private:
            base = node.value
            if isinstance(base, ast.Name) and base.id in ("self", "cls"):
                continue  # the integration's own attribute that happens to share the name
            pytest.fail(f"{path}:{node.lineno}: .{node.attr} is private to Server")


def test_the_engine_handler_methods_cannot_be_taken_for_user_events() -> None:
    expected = {"engineio_session_opened", "engineio_message", "engineio_session_closed"}
    declared = {n for n in vars(EngineHandler) if not n.startswith("_")}
    assert declared == expected
    for name in ("on_connect", "on_message", "on_disconnect"):
        assert not hasattr(Server, name)


class OnlyLocalDelivery:
    """Exactly the LocalDelivery seam, recording what the adapter asked for."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.workers: Any = None
        self.hub: Any = None

    def in_hub_thread(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name not in vars(LocalDelivery):
            raise AttributeError(f"{name} is not part of LocalDelivery")

        def record(*args: Any) -> Any:
            self.calls.append((name, args))
            return [] if name == "local_socket_infos" else 0

        return record


def test_memory_adapter_needs_nothing_but_local_delivery() -> None:
    host = OnlyLocalDelivery()
    adapter = MemoryAdapter()
    adapter.attach(host)
    adapter.broadcast("/", ["e"], None, [])
    adapter.broadcast_with_ack("/", ["e"], ["r"], [], print, 1.0)
    assert adapter.fetch_sockets("/", None) == []
    adapter.sockets_join("/", None, ["r"])
    adapter.sockets_leave("/", None, ["r"])
    adapter.disconnect_sockets("/", ["r"], True)
    assert [name for name, _ in host.calls] == [
        "deliver_local", "deliver_local_with_ack", "local_socket_infos",
        "local_sockets_join", "local_sockets_leave", "local_disconnect_sockets",
    ]


def test_local_socket_views_and_namespaces() -> None:
    server = Server()
    server.on("connect", lambda sid: None, namespace="/chat")
    server.on("connect", lambda sid: None, namespace=lambda name, auth: name.startswith("/dyn"))
    assert server.namespaces() == ["/chat"]
    esock = FakeEngineSocket("e0")
    sid = connect(server, esock, "/chat")
    view = server.local_socket(sid, "/chat")
    assert view is not None
    assert (view.sid, view.namespace, view.connected) == (sid, "/chat", True)
    assert view.engine_socket is esock  # type: ignore[comparison-overlap]
    assert server.local_socket(sid, "/") is None
    assert server.local_socket("nobody", "/chat") is None
    assert [s.sid for s in server.local_sockets()] == [sid]
    [info] = server.local_socket_infos("/chat", None)
    assert info == SocketInfo(sid=sid, namespace="/chat", rooms=frozenset({sid}),
                              handshake=info.handshake, data={})
    server.engineio_session_closed(esock, "transport close")  # type: ignore[arg-type]
    assert server.local_sockets() == []
    assert server.stats()["sockets"] == 0
