"""python-socketio's names and options on Server, through the real engine glue (no sockets).

The interop side (a whole python-socketio app, both official clients) is
tests/integration/test_python_socketio_app.py; this file holds each name to
its meaning, one by one.
"""

from __future__ import annotations

import datetime
import threading
from typing import Any

import gevent
import pytest

import socketio_core
from socketio_core import Namespace, Server
from socketio_core.exceptions import ConnectionRefusedError, NotSerializableError

from ._fakes import FakeEngineSocket, connect


def wait_for(esock: FakeEngineSocket, prefix: str) -> str:
    """The first message sent to ``esock`` starting with ``prefix`` (event-driven wait)."""
    with gevent.Timeout(5, AssertionError(f"nothing starting with {prefix!r} in {esock.sent}")):
        while True:
            for wire in esock.sent:
                if isinstance(wire, str) and wire.startswith(prefix):
                    return wire
            esock.received.clear()
            esock.received.wait()


@pytest.mark.parametrize(
    ("mode", "advice"),
    [
        ("threading", "emit/call from plain OS threads work"),
        ("eventlet", "use async_mode='gevent'"),
        ("asgi", "use socketio_core.AsyncServer"),
        ("aiohttp", "use socketio_core.AsyncServer"),
        ("sanic", "use socketio_core.AsyncServer"),
        ("tornado", "use socketio_core.AsyncServer"),
        ("bogus", "or AsyncServer"),
    ],
)
def test_unsupported_async_modes_are_refused_with_advice(mode: str, advice: str) -> None:
    with pytest.raises(ValueError, match=f"async_mode='{mode}' is not supported") as err:
        Server(async_mode=mode)
    assert advice in str(err.value)


@pytest.mark.parametrize("mode", [None, "gevent"])
def test_gevent_is_accepted(mode: str | None) -> None:
    Server(async_mode=mode)


@pytest.mark.parametrize(
    ("name", "advice"),
    [("KombuManager", "RedisManager"), ("KafkaManager", "RedisManager"), ("ZmqManager", "Emitter"),
     ("AsyncAioPikaManager", "AsyncRedisManager")],
)
def test_unsupported_classes_fail_at_construction(name: str, advice: str) -> None:
    cls = getattr(socketio_core, name)
    with pytest.raises(NotImplementedError, match=f"{name} is not supported by socketio-core") as err:
        cls("amqp://")
    assert advice in str(err.value)


def test_python_socketio_clients_are_named_with_advice() -> None:
    with pytest.raises(AttributeError, match="virtualenv of its own"):
        socketio_core.Client  # noqa: B018


def test_redis_manager_is_our_redis_adapter_and_write_only_points_to_the_emitter() -> None:
    from socketio_core.redis_adapter import RedisAdapter

    adapter = socketio_core.RedisManager("redis://127.0.0.1:1/0", channel="app")
    assert isinstance(adapter, RedisAdapter) and adapter.channel_prefix == "app"
    with pytest.raises(NotImplementedError, match="Emitter"):
        socketio_core.RedisManager("redis://127.0.0.1:1/0", write_only=True)


def test_async_redis_manager_is_the_same_redis_adapter_and_async_server_takes_it() -> None:
    from socketio_core.redis_adapter import RedisAdapter

    adapter = socketio_core.AsyncRedisManager("redis://127.0.0.1:1/0", channel="app")
    assert type(adapter) is RedisAdapter and adapter.channel_prefix == "app"
    assert "asyncio" in adapter.runs_on and "gevent" in adapter.runs_on
    with pytest.raises(NotImplementedError, match="Emitter"):
        socketio_core.AsyncRedisManager("redis://127.0.0.1:1/0", write_only=True)


def test_engineio_options_as_python_socketio_spells_them() -> None:
    sio = Server(ping_interval=(10, 5), ping_timeout=20, max_http_buffer_size=1234)
    assert (sio.config.ping_interval, sio.config.ping_timeout, sio.config.max_payload) == (10, 25, 1234)
    assert Server(ping_interval=7).config.ping_interval == 7
    with pytest.raises(ValueError, match="interval, grace"):
        Server(ping_interval=(1, 2, 3))


def test_exceptions_module_names() -> None:
    assert socketio_core.exceptions.ConnectionRefusedError is socketio_core.ConnectionRefusedError
    assert issubclass(NotSerializableError, TypeError)
    assert socketio_core.exceptions.TimeoutError is TimeoutError


def test_event_decorator_with_a_namespace() -> None:
    sio = Server()
    got: list[Any] = []

    @sio.event(namespace="/chat")
    def shout(sid: str, text: str) -> str:
        got.append((sid, text))
        return text.upper()

    @sio.event
    def plain(sid: str) -> None: ...

    esock = FakeEngineSocket("e1")
    sid = connect(sio, esock, "/chat")
    sio.engineio_message(esock, '2/chat,7["shout","hi"]')  # type: ignore[arg-type]
    assert wait_for(esock, "43/chat,7") == '43/chat,7["HI"]'
    assert got == [(sid, "hi")]
    assert sio._handler("/", "plain") is plain


def test_trigger_event_override_sees_every_event_and_super_runs_the_handler() -> None:
    class Audit(Namespace):
        def __init__(self) -> None:
            super().__init__("/audit")
            self.seen: list[tuple[str, int]] = []

        def trigger_event(self, event: str, *args: Any) -> Any:
            self.seen.append((event, len(args)))
            return super().trigger_event(event, *args)

        def on_connect(self, sid: str) -> None:  # fewer parameters: trimmed by trigger_event
            pass

        def on_double(self, sid: str, n: int) -> int:
            return n * 2

    sio = Server()
    audit = Audit()
    sio.register_namespace(audit)
    esock = FakeEngineSocket("e1")
    connect(sio, esock, "/audit")
    sio.engineio_message(esock, '2/audit,1["double",21]')  # type: ignore[arg-type]
    sio.engineio_message(esock, '2/audit,2["unknown"]')  # type: ignore[arg-type]
    assert wait_for(esock, "43/audit,1") == "43/audit,1[42]"
    assert wait_for(esock, "43/audit,2") == "43/audit,2[]"  # seen, no handler: an empty ack
    assert audit.seen == [("connect", 3), ("double", 2), ("unknown", 1)]


def test_environ_reads_like_a_wsgi_environ() -> None:
    sio = Server()
    seen: dict[str, Any] = {}

    @sio.on("connect")
    def on_connect(sid: str, environ: Any) -> None:
        seen.update(addr=environ["REMOTE_ADDR"], app=environ.get("HTTP_X_APP"),
                    missing=environ.get("HTTP_MISSING", "-"), has_query="QUERY_STRING" in environ,
                    address=environ.address)

    esock = FakeEngineSocket("e1")
    esock.request.header_map = {"x-app": "tests", "content-type": "text/plain"}
    sid = connect(sio, esock, "/")
    assert seen == {"addr": "127.0.0.1", "app": "tests", "missing": "-", "has_query": True,
                    "address": "127.0.0.1"}
    environ = sio.get_environ(sid)
    assert environ is not None
    assert environ["HTTP_X_APP"] == "tests" and environ["CONTENT_TYPE"] == "text/plain"
    assert environ["REQUEST_METHOD"] == "GET" and environ["PATH_INFO"] == "/socket.io/"
    assert sio.get_environ("nobody") is None
    assert sio.get_environ(sid, namespace="/other") is None
    with pytest.raises(KeyError):
        sio.handshake(sid)["HTTP_MISSING"]


def test_emit_takes_data_and_a_none_namespace() -> None:
    sio = Server(namespaces="*")
    esock = FakeEngineSocket("e1")
    sid = connect(sio, esock, "/")
    sio.emit("one", data={"a": 1}, to=sid, namespace=None)
    sio.emit("two", 1, data=2, room=sid)
    assert wait_for(esock, '42["one"') == '42["one",{"a":1}]'
    assert wait_for(esock, '42["two"') == '42["two",1,2]'
    sio.emit("three", data=(1, [2]), to=sid)  # python-socketio spreads a tuple given as data
    sio.emit("four", (1, 2), to=sid)  # ours: a positional tuple is one argument
    assert wait_for(esock, '42["three"') == '42["three",1,[2]]'
    assert wait_for(esock, '42["four"') == '42["four",[1,2]]'


def test_ignore_queue_delivers_locally_without_the_adapter() -> None:
    sio = Server(namespaces="*")
    esock = FakeEngineSocket("e1")
    connect(sio, esock, "/")
    calls: list[Any] = []
    sio.adapter.broadcast = lambda *a, **k: calls.append(a)  # type: ignore[method-assign]
    sio.emit("local", 1, ignore_queue=True)
    sio.emit("queued", 2)
    assert wait_for(esock, '42["local"') == '42["local",1]'
    assert len(calls) == 1 and calls[0][1] == ["queued", 2]


@pytest.mark.parametrize(
    ("namespaces", "asked", "accepted"),
    [(None, "/free", False), ("*", "/free", True), (["/free"], "/free", True), (["/free"], "/other", False)],
)
def test_namespaces_option(namespaces: Any, asked: str, accepted: bool) -> None:
    sio = Server(namespaces=namespaces)
    esock = FakeEngineSocket("e1")
    sio.engineio_session_opened(esock)  # type: ignore[arg-type]
    sio.engineio_message(esock, f"0{asked},")  # type: ignore[arg-type]
    reply = wait_for(esock, "4")
    assert reply.startswith(f"40{asked},") if accepted else reply.startswith(f"44{asked},")


@pytest.mark.parametrize("always_connect", [False, True])
def test_always_connect_accepts_first_then_disconnects_a_refusal(always_connect: bool) -> None:
    sio = Server(always_connect=always_connect)
    order: list[str] = []

    @sio.on("connect")
    def on_connect(sid: str, environ: Any, auth: Any) -> None:
        order.append("handler")
        sio.emit("from_handler", 1, to=sid)
        if auth.get("refuse"):
            raise ConnectionRefusedError("no", data={"why": "test"})

    for refuse in (False, True):
        esock = FakeEngineSocket(f"e-{refuse}")
        sio.engineio_session_opened(esock)  # type: ignore[arg-type]
        sio.engineio_message(esock, '0{"refuse":true}' if refuse else "0")  # type: ignore[arg-type]
        if refuse and not always_connect:
            assert wait_for(esock, "44") == '44{"message":"no","data":{"why":"test"}}'
            assert not any(isinstance(w, str) and w.startswith("42") for w in esock.sent)
            continue
        wait_for(esock, "42")
        if refuse:
            wait_for(esock, "41")
        kinds = [w[:2] for w in esock.sent if isinstance(w, str)]
        assert kinds[:2] == ["40", "42"], kinds  # CONNECT first, then what the handler emitted


def test_non_json_data_fails_at_the_emit_call_in_the_callers_thread() -> None:
    sio = Server(namespaces="*")
    esock = FakeEngineSocket("e1")
    sid = connect(sio, esock, "/")
    sio.bind_hub()
    when = datetime.datetime(2024, 1, 1)
    with pytest.raises(NotSerializableError, match="data is not JSON-serialisable: datetime"):
        sio.emit("x", when, to=sid)  # in the hub's thread, on the fast path
    with pytest.raises(TypeError, match="datetime"):
        sio.emit("x", {"when": when})  # a broadcast
    errors: list[BaseException] = []

    def from_thread() -> None:
        try:
            sio.emit("x", [when], to=sid)
        except TypeError as exc:
            errors.append(exc)

    thread = threading.Thread(target=from_thread)
    thread.start()
    thread.join()
    assert len(errors) == 1 and isinstance(errors[0], NotSerializableError)
    assert errors[0].type_name == "datetime"  # type: ignore[attr-defined]


def test_sleep_and_background_tasks() -> None:
    sio = Server()
    task = sio.start_background_task(lambda a, b=0: a + b, 1, b=2)
    task.join(timeout=5)
    assert task.value == 3
    sio.sleep(0)


def test_wsgi_app_path_static_files_and_fallback(tmp_path: Any) -> None:
    (tmp_path / "index.html").write_text("<h1>home</h1>")
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "app.js").write_text("js()")
    (tmp_path / "secret.txt").write_text("no")
    sio = Server()

    def other(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"other " + environ["PATH_INFO"].encode()]

    app = socketio_core.WSGIApp(sio, other, socketio_path="ws", static_files={
        "/": str(tmp_path / "index.html"),
        "/static": str(tmp_path / "public"),
        "/raw": {"filename": str(tmp_path / "public" / "app.js"), "content_type": "text/x-test"},
    })
    assert sio.engine.path == "/ws/"

    def get(path: str) -> tuple[str, dict[str, str], bytes]:
        status: list[Any] = []
        body = b"".join(app({"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "",
                             "wsgi.url_scheme": "http"}, lambda s, h: status.append((s, dict(h)))))
        return status[0][0], status[0][1], body

    assert get("/")[2] == b"<h1>home</h1>" and get("/")[1]["Content-Type"] == "text/html"
    assert get("/static/app.js")[2] == b"js()"
    assert get("/raw")[1]["Content-Type"] == "text/x-test"
    assert get("/static/../secret.txt")[2] == b"other /static/../secret.txt"  # no escaping the folder
    assert get("/elsewhere")[2] == b"other /elsewhere"
    status, _, body = get("/ws/")
    assert status.startswith("400") and b"code" in body, (status, body)  # Engine.IO answers its own path
    bare = socketio_core.WSGIApp(Server())
    status: list[Any] = []
    assert b"".join(bare({"REQUEST_METHOD": "GET", "PATH_INFO": "/x", "QUERY_STRING": ""},
                         lambda s, h: status.append(s))) == b"Not Found"
    assert status == ["404 Not Found"]


def test_call_takes_python_socketios_sid_and_data() -> None:
    sio = Server(namespaces="*")
    esock = FakeEngineSocket("e1")
    sid = connect(sio, esock, "/")
    answers: list[Any] = []
    caller = gevent.spawn(lambda: answers.append(sio.call("q", sid=sid, data=(1, 2), namespace=None, timeout=5)))
    assert wait_for(esock, "42") == '420["q",1,2]'
    sio.engineio_message(esock, '30["a"]')  # type: ignore[arg-type]
    caller.join(timeout=5)
    assert answers == ["a"]
    with pytest.raises(TypeError, match="to=sid"):
        sio.call("q")
