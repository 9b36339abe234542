"""A python-socketio gevent application, written as its users write it; only the import changed.

usage: python _pysio_app.py PORT geventwebsocket|pywsgi [always_connect]

Everything below the import is python-socketio 5 code (its gevent mode):
``Server(async_mode="gevent", logger=..., engineio_logger=...,
always_connect=..., cors_allowed_origins=..., ping_interval=...,
max_http_buffer_size=...)``, ``sio.sleep``, ``sio.start_background_task``,
``socketio.exceptions``, ``socketio.WSGIApp(sio, app, socketio_path=...)``
under ``gevent.pywsgi.WSGIServer`` (with gevent-websocket's handler, or
plain), ``@sio.event(namespace=...)``, ``sio.get_environ``, a ``Namespace``
overriding ``trigger_event``, and ``sio.shutdown()`` on SIGTERM.
tests/integration/test_python_socketio_app.py drives it with the official
JavaScript client and the python-socketio client.
"""

import signal
import sys

import gevent
from gevent import pywsgi

import socketio_core as socketio  # was: import socketio

PORT = int(sys.argv[1])
HANDLER = sys.argv[2]
ALWAYS_CONNECT = "always_connect" in sys.argv[3:]

sio = socketio.Server(
    async_mode="gevent",
    logger=True,
    engineio_logger="engineio" in sys.argv[3:],
    always_connect=ALWAYS_CONNECT,
    cors_allowed_origins="*",
    ping_interval=25,
    max_http_buffer_size=1_000_000,
)


def index(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"the page"]


app = socketio.WSGIApp(sio, index, socketio_path="socket.io")
ticker = None


def background_thread():
    count = 0
    while True:
        sio.sleep(0.2)
        count += 1
        sio.emit("tick", {"count": count}, namespace="/chat")


@sio.event
def connect(sid, environ, auth):
    global ticker
    if auth and auth.get("token") == "bad":
        raise socketio.exceptions.ConnectionRefusedError("bad token")
    if ticker is None:
        ticker = sio.start_background_task(background_thread)
    sio.emit("welcome", {"sid": sid, "has_addr": bool(environ["REMOTE_ADDR"])}, to=sid)


@sio.event
def echo(sid, data):
    return data


@sio.event
def join(sid, room):
    sio.enter_room(sid, room)
    return sio.rooms(sid)


@sio.event
def say(sid, message):
    sio.emit("said", {"from": sid, "text": message["text"]}, room=message["room"], skip_sid=sid)


@sio.event
def agent(sid):
    return sio.get_environ(sid).get("HTTP_X_APP", "none")


@sio.event
def remember(sid, value):
    with sio.session(sid) as session:
        session["value"] = value


@sio.event
def recall(sid):
    return sio.get_session(sid)["value"]


@sio.event
def bye(sid):
    sio.disconnect(sid)


@sio.event
def disconnect(sid, reason):
    print("app saw disconnect", sid, reason, flush=True)


@sio.event(namespace="/chat")
def connect(sid, environ):  # noqa: F811 - python-socketio style: one name per namespace
    sio.emit("chat_ready", "yes", to=sid, namespace="/chat")


@sio.event(namespace="/chat")
def shout(sid, text):
    sio.emit("shouted", text.upper(), namespace="/chat")


class Audit(socketio.Namespace):
    """python-socketio's hook: trigger_event sees every event of the namespace."""

    def __init__(self, namespace):
        super().__init__(namespace)
        self.seen = []

    def trigger_event(self, event, *args):
        self.seen.append(event)
        return super().trigger_event(event, *args)

    def on_connect(self, sid, environ):
        pass

    def on_ping_me(self, sid, value):
        self.emit("pong_you", value, room=sid)

    def on_seen(self, sid):
        return self.seen


sio.register_namespace(Audit("/audit"))

if __name__ == "__main__":
    kwargs = {}
    if HANDLER == "geventwebsocket":
        from geventwebsocket.handler import WebSocketHandler

        kwargs["handler_class"] = WebSocketHandler
    server = pywsgi.WSGIServer(("127.0.0.1", PORT), app, log=None, **kwargs)
    server.start()

    def stop():
        sio.shutdown()
        server.stop()

    gevent.signal_handler(signal.SIGTERM, stop)
    print(f"listening on http://127.0.0.1:{PORT}", flush=True)
    server.serve_forever()
