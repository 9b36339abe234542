"""What a connect handler emits follows the CONNECT reply in a write of its own, a moment later.

Over WebSocket a client may read the reply and the next frames in one TCP read;
the ws package the official conformance suite pins dispatches them all at once,
before the suite listens for the second frame, so those frames must come in a
later write. Emits made meanwhile queue behind them: order is kept.
"""

from __future__ import annotations

from typing import Any

import gevent
import pytest

from socketio_core import Server
from socketio_core.server._engine_glue import CONNECT_REPLY_GAP

from ._fakes import FakeEngineSocket, connect

pytestmark = pytest.mark.timeout(30)


class RecordingSocket(FakeEngineSocket):
    """Marks each flush (a write of its own) in the record of what was sent."""

    def flush(self) -> None:
        self.sent.append("<flush>")


def _server() -> Server:
    sio = Server()

    @sio.on("connect")
    def on_connect(sid: str, environ: Any, auth: Any) -> None:
        sio.emit("auth", auth, to=sid)

    return sio


def _wait_for(esock: FakeEngineSocket, wire: str) -> None:
    with gevent.Timeout(5):
        while wire not in esock.sent:
            esock.received.clear()
            esock.received.wait(1)


def test_over_websocket_the_reply_goes_alone_and_what_the_handler_emitted_follows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A long gap, so that the emit below surely lands inside it (only order is asserted).
    monkeypatch.setattr("socketio_core.server._engine_glue.CONNECT_REPLY_GAP", 0.3)
    sio = _server()
    esock = RecordingSocket("W")
    sid = connect(sio, esock, "/")
    sio.emit("later", 1, to=sid)  # emitted meanwhile: queued behind "auth"
    _wait_for(esock, '42["later",1]')
    reply = next(i for i, w in enumerate(esock.sent) if isinstance(w, str) and w.startswith("40"))
    assert esock.sent[reply + 1:] == ["<flush>", '42["auth",{}]', '42["later",1]']
    sio.emit("now", to=sid)  # released: straight out
    assert esock.sent[-1] == '42["now"]'
    assert sio.output_held == 0  # what the Flask test client waits for


def test_over_polling_it_all_goes_at_once() -> None:
    sio = _server()
    esock = RecordingSocket("P")
    esock.transport = "polling"
    connect(sio, esock, "/")
    assert '42["auth",{}]' in esock.sent and "<flush>" not in esock.sent


def test_the_gap_is_short() -> None:
    assert 0 < CONNECT_REPLY_GAP <= 0.02  # a delay only at connect: a few milliseconds
