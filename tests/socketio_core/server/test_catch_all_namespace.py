"""``namespace="*"`` handlers (python-socketio's catch-all namespace) and the python-socketio views.

Lookup order, as python-socketio's: the namespace's handler for the event,
then its catch-all event handler, then the ``"*"`` namespace's handler for
the event. A namespace nobody registered is accepted once a ``"*"``
namespace handler exists.
"""

from __future__ import annotations

from typing import Any

from gevent.event import Event

from socketio_core import Server

from ._fakes import FakeEngineSocket, connect


def _emit(server: Server, esock: FakeEngineSocket, namespace: str, event: str) -> None:
    prefix = "" if namespace == "/" else f"{namespace},"
    server.engineio_message(esock, f'2{prefix}["{event}",1]')  # type: ignore[arg-type]


def test_a_star_namespace_handler_serves_namespaces_without_their_own() -> None:
    server = Server()
    calls: list[tuple[str, str | None, str]] = []
    done = Event()

    def record(kind: str) -> Any:
        def handler(*args: Any) -> None:
            sid = args[1] if kind == "own catch-all" else args[0]
            calls.append((kind, server.namespace_of(sid), args[0] if kind == "own catch-all" else "ping"))
            done.set()
        return handler

    server.on("ping", record("star"), namespace="*")
    server.on("ping", record("own"), namespace="/own")
    server.on("*", record("own catch-all"), namespace="/caught")
    esock = FakeEngineSocket("E1")
    for namespace in ("/anything", "/own", "/caught"):
        connect(server, esock, namespace)  # "/anything": accepted through "*"
    for namespace in ("/anything", "/own", "/caught"):
        done.clear()
        _emit(server, esock, namespace, "ping")
        assert done.wait(5)
    assert calls == [
        ("star", "/anything", "ping"),
        ("own", "/own", "ping"),
        ("own catch-all", "/caught", "ping"),
    ]


def test_without_a_star_handler_unknown_namespaces_are_refused() -> None:
    server = Server()
    server.on("ping", lambda sid: None, namespace="/known")
    esock = FakeEngineSocket("E2")
    server.engineio_session_opened(esock)  # type: ignore[arg-type]
    server.engineio_message(esock, "0/unknown,")  # type: ignore[arg-type]
    assert any(isinstance(w, str) and w.startswith("44/unknown,") for w in esock.sent)


def test_eio_view_names_the_engineio_settings_as_python_engineio_does() -> None:
    server = Server(ping_interval=7, ping_timeout=3, max_payload=999, allow_upgrades=False,
                    cookie={"name": "io", "path": "/x"})
    eio = server.eio
    assert (eio.ping_interval, eio.ping_timeout, eio.max_http_buffer_size) == (7, 3, 999)
    assert eio.allow_upgrades is False and eio.transports == ["polling", "websocket"]
    assert eio.cookie == {"name": "io", "path": "/x"}
    assert Server(cookie="sticky").eio.cookie == "sticky"
    assert Server().eio.cookie is None
