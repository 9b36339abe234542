"""Long-polling on asyncio: the GET that waits for output, the POST that carries input.

Strategy: the session decides everything (whether a poll or a send may
start, what a payload holds) and :mod:`transports._polling_answer` says what
the answer is; this module only waits and writes, through an
:class:`Exchange` (our own server's connection, or an ASGI request). A GET
with nothing to send waits on a :class:`_Waiter` that the session's socket
sets when output may be there, or that the exchange sets when the client
leaves. A POST's payload is handed up ``TURN_PACKETS`` packets per loop turn
(:mod:`._turns`), so a long one holds no one else up. [EIO4] "Polling".
"""

from __future__ import annotations

import asyncio
import logging
from time import monotonic
from typing import TYPE_CHECKING, Callable, Protocol

from engineio import CloseReason, RemoteProtocolError, State

from .._polling_answer import ok_headers, poll_answer, post_input
from .._request import BodyTooLarge, ClientGone, HttpRequest
from ._socket import EngineSocket
from ._turns import TURN_PACKETS, next_turn

if TYPE_CHECKING:
    from ._engine import EngineServer

__all__ = ["Exchange", "poll", "post"]

log = logging.getLogger(__name__)

Headers = list[tuple[str, str]]


class Exchange(Protocol):
    """One HTTP request and its answer, whatever server carries them."""

    request: HttpRequest

    async def read_body(self, limit: int) -> bytes:
        """The whole body; BodyTooLarge past ``limit`` (judged before buffering), ClientGone."""
        ...

    async def respond(self, status: int, headers: Headers, body: bytes = b"", *, close: bool = False) -> None: ...

    def watch_gone(self, on_gone: Callable[[], None]) -> Callable[[], None]:
        """Call ``on_gone`` if the client leaves while we wait; returns the way to stop watching."""
        ...


class _Waiter:
    """What a waiting GET waits on: set by the session (output) or the exchange (client gone)."""

    __slots__ = ("_future", "_flag")

    def __init__(self) -> None:
        self._future: asyncio.Future[None] | None = None
        self._flag = False

    def set(self) -> None:
        self._flag = True
        future = self._future
        if future is not None and not future.done():
            future.set_result(None)

    async def wait(self) -> None:
        if not self._flag:
            self._future = asyncio.get_running_loop().create_future()
            try:
                await self._future
            finally:
                self._future = None
        self._flag = False


def _cancel(task: "asyncio.Task[None]") -> None:
    """Stop a watch task (what :meth:`Exchange.watch_gone` returns, bound with ``partial``)."""
    task.cancel()


async def _let_the_probe_speak(esock: EngineSocket, grace: float) -> None:
    """Wait while the session upgrades, ``grace`` seconds at most (see
    :meth:`~transports._esocket.EngineSocketBase.poll_probe_grace`): on a
    future the end of the upgrade sets, and the loop's timer."""
    waiter = esock.poll_waiter = _Waiter()
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        waiter.set()

    timer = asyncio.get_running_loop().call_later(grace, expire)
    try:
        while esock.probe_pending and not expired:
            await waiter.wait()
    finally:
        timer.cancel()
        esock.poll_waiter = None


async def poll(server: "EngineServer", ex: Exchange, esock: EngineSocket) -> bool:
    """Answer a polling GET of ``esock``, at once or when output comes; whether the connection goes on."""
    request = ex.request
    session = esock.session
    grace = esock.poll_probe_grace()
    if grace:
        await _let_the_probe_speak(esock, grace)
    refused = esock.start_poll()
    if refused is not None:
        await ex.respond(refused, server.cors.response_headers(request), b"")
        return True
    gone = False
    try:
        body = session.drain_polling()
        if body is None and session.state is not State.CLOSED:
            waiter = esock.poll_waiter = _Waiter()

            def on_gone() -> None:
                nonlocal gone
                gone = True
                waiter.set()

            stop = ex.watch_gone(on_gone)
            try:
                while True:
                    await waiter.wait()
                    body = session.drain_polling()
                    if body is not None or session.closed:
                        break
                    if gone:
                        session.transport_closed(CloseReason.TRANSPORT_CLOSE)
                        break
            finally:
                stop()
                esock.poll_waiter = None
    finally:
        session.poll_finished()
        esock.pump()
    if gone and body is None:
        return False
    await ex.respond(*poll_answer(server, request, esock.jsonp, body))
    return True


async def post(server: "EngineServer", ex: Exchange, esock: EngineSocket) -> bool:
    """Hand a polling POST's payload to the session and answer "ok"; whether the connection goes on."""
    request = ex.request
    session = esock.session
    refused = esock.start_post()
    if refused is not None:
        await ex.respond(refused, server.cors.response_headers(request), b"", close=True)
        return False
    try:
        try:
            body = await ex.read_body(server.config.max_payload)
        except BodyTooLarge:
            log.info("session %s: POST body over max_payload", esock.sid)
            session.transport_closed(CloseReason.TRANSPORT_ERROR)
            await ex.respond(413, server.cors.response_headers(request), b"", close=True)
            return False
        except ClientGone:
            return False  # the client left mid-body: the session goes on (its next POST may come)
        body, binary = post_input(request, body, esock.jsonp)
        try:
            done = session.receive_payload(body, monotonic(), binary=binary, max_packets=TURN_PACKETS)
            del body  # the session keeps what it still has to decode
            while not done:
                esock.pump()  # this turn's share goes up now
                await next_turn()
                done = session.continue_payload(monotonic(), max_packets=TURN_PACKETS)
        except RemoteProtocolError as exc:
            log.info("session %s: %s", esock.sid, exc)
            await ex.respond(exc.http_status, server.cors.response_headers(request), b"")
            return True
    finally:
        session.post_finished()
        esock.pump()
    await ex.respond(200, ok_headers(server, request), b"ok")
    return True
