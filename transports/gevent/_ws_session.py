"""Carrying an Engine.IO session over a gevent WebSocket: native, or upgraded from polling.

Strategy: the session decides (what a message is, whether an upgrade may
start, what the probe answers) and the shared session logic acts on it
(:class:`transports._esocket.EngineSocketBase`: ``on_ws_message``,
``on_ws_end``, ``begin_probe``, ``on_probe_message``); these functions only
read messages and hand them over. Where the socket allows it, messages are
read from the hub (:meth:`WebSocket.react`) and no greenlet stays with the
connection; over TLS, with permessage-deflate or on a socket without
gevent's internals, a reader greenlet does it. The upgrade ([EIO4]
"Upgrade") runs on the second connection's greenlet until the session says
the probe won or lost.
"""

from __future__ import annotations

import logging
from typing import Callable

from gevent.event import Event

from engineio import State

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
    if ws.can_react:
        if http is not None and http.release is not None:
            http.detach()
            ws.react(esock, release=http)  # no closure per connection: objects, not callbacks
            return
        done = Event()
        ws.react(esock, then=done.set)
        done.wait()
        return
    on_message = esock.on_ws_message
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


def _on_end(esock: EngineSocket, then: Callable[[], None]) -> None:
    """The WebSocket ended: the session learns it, then ``then`` (release or close) runs."""
    esock.on_ws_end()
    then()


def serve_probe(
    esock: EngineSocket, ws: WebSocket, http: HttpConnection | None = None, *, supports_binary: bool = True
) -> None:
    """Run the upgrade dance on a second connection ([EIO4] "Upgrade")."""
    if not esock.begin_probe(ws, supports_binary=supports_binary):
        return
    while esock.probe is ws:
        if not esock.on_probe_message(ws, ws.receive()):
            break
    if esock.ws is ws:
        serve_websocket(esock, ws, http)
    else:
        ws.close()
