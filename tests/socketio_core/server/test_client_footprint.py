"""What the server keeps per client that no handler asked for (issue 19: bytes per connection)."""

from __future__ import annotations

from socketio_core import Server

from ._fakes import FakeEngineSocket, connect


def test_clients_share_the_servers_callbacks() -> None:
    """No bound method made per client (issue 19: four of them were 256 bytes an idle connection)."""
    sio = Server(namespaces="*")
    one, two = FakeEngineSocket("e1"), FakeEngineSocket("e2")
    connect(sio, one, "/")
    connect(sio, two, "/")
    a, b = one.context, two.context
    assert a.process is b.process and a.run_handler is b.run_handler
    assert a.finish_handler is b.finish_handler
    assert a.acks._run is b.acks._run and a.acks._call_later is b.acks._call_later
    sio.workers = type(sio.workers)()  # replaced workers: the next client uses the new ones
    three = FakeEngineSocket("e3")
    connect(sio, three, "/")
    assert three.context.run_handler == sio.workers.submit and three.context.run_handler is not a.run_handler


def test_a_connected_socket_keeps_no_pending_list() -> None:
    """Emits during the connect handler still follow the CONNECT reply; then no list is kept."""
    sio = Server()

    @sio.on("connect")
    def on_connect(sid: str, environ: object) -> None:
        sio.emit("hello", 1, to=sid)

    esock = FakeEngineSocket("e1")
    esock.transport = "polling"  # released at once (WebSocket output is held 5 ms behind the reply)
    sid = connect(sio, esock, "/")
    sock = esock.context.sockets["/"]
    assert sock.sid == sid and sock.writable and sock.pending is None
    assert any(isinstance(w, str) and '"hello"' in w for w in esock.sent)
