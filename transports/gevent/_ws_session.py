"""Carrying an Engine.IO session over a WebSocket: native, or upgraded from polling.

Strategy: the session decides (what a message is, whether an upgrade may
start, what the probe answers); these functions read messages and hand them
over. Where the socket allows it, messages are read from the hub
(:meth:`WebSocket.react`) and no greenlet stays with the connection; over TLS,
with permessage-deflate or on a socket without gevent's internals, a reader
greenlet does it. The upgrade ([EIO4] "Upgrade") runs on the second
connection's greenlet until the session says the probe won or lost.
"""

from __future__ import annotations

import logging
from functools import partial
from time import monotonic
from typing import Callable

from gevent.event import Event

from engineio import CloseReason, RemoteProtocolError, State, Wire

from .._request import ClientGone
from ._http import HttpConnection
from ._socket import EngineSocket
from ._websocket import WebSocket

__all__ = ["serve_websocket", "serve_probe"]

log = logging.getLogger(__name__)


def serve_websocket(esock: EngineSocket, ws: WebSocket, http: HttpConnection | None = None) -> None:
    """Carry the session over ``ws`` until it closes (native or upgraded).

    Where the socket allows it, messages are read from the hub
    (:meth:`WebSocket.react`). Then, when the connection's owner can let
    it go (``http.release``, our own server), this returns at once and no
    greenlet stays with the connection; otherwise (a WSGI server, which
    closes the socket when we return) it waits here until the end. The
    connection's ownership moves (DETACH, then RELEASE) go through
    ``transports._ownership``.
    """
    on_message = partial(_on_message, esock)
    if ws.can_react:
        if http is not None and http.release is not None:
            http.detach()
            released = http.released
            ws.react(on_message, lambda: _on_end(esock, released))
            return
        done = Event()
        ws.react(on_message, lambda: _on_end(esock, done.set))
        done.wait()
        return
    # TLS, permessage-deflate, a socket without gevent's internals: a reader greenlet.
    while esock.session.state is not State.CLOSED:
        message = ws.receive()
        if message is None:
            break
        on_message(message)
        message = None
        # This reader may see the end of the connection before the hub's
        # end-of-turn flush: what the message produced goes out now.
        esock.flush()
    _on_end(esock, ws.close)


def _on_message(esock: EngineSocket, message: Wire) -> None:
    """One message read from the WebSocket: to the session, then to the application."""
    session = esock.session
    text = session.take_message(message)
    if text is not None:
        # A plain text message changes no session state (no deadline, no
        # output): hand it up without the event queue and the pump.
        try:
            esock.server.handler.engineio_message(esock, text)
        except Exception:
            log.exception("message handler failed (session %s)", esock.sid)
        if session.has_events:
            esock.pump()
        return
    try:
        session.receive_message(message, monotonic())
    except RemoteProtocolError as exc:
        log.info("session %s: %s", esock.sid, exc)
    esock.pump()
    if session.state is State.CLOSED and esock.ws is not None:
        esock.ws.close()


def _on_end(esock: EngineSocket, then: Callable[[], None]) -> None:
    """The WebSocket ended: the session learns it, then ``then`` (release or close) runs."""
    session = esock.session
    if session.state is not State.CLOSED:
        session.transport_closed(CloseReason.TRANSPORT_CLOSE)
        esock.pump()
    then()


def serve_probe(
    esock: EngineSocket, ws: WebSocket, http: HttpConnection | None = None, *, supports_binary: bool = True
) -> None:
    """Run the upgrade dance on a second connection ([EIO4] "Upgrade")."""
    session = esock.session
    try:
        session.begin_upgrade(monotonic(), supports_binary=supports_binary)
    except RemoteProtocolError as exc:
        log.info("session %s: refused a WebSocket: %s", esock.sid, exc)
        ws.close()
        return
    esock.probe = ws
    esock.pump()
    while esock.probe is ws:
        message = ws.receive()
        if message is None:
            session.abort_upgrade("probe connection closed")
            esock.pump()
            return
        session.receive_probe(message, monotonic())
        replies = session.drain_probe()
        if replies:
            try:
                ws.send(replies)
            except (OSError, ClientGone):
                session.abort_upgrade("probe write failed")
        esock.pump()
    if esock.ws is ws:
        serve_websocket(esock, ws, http)
    else:
        ws.close()
