"""Several server processes acting as one, through Redis pub/sub.

``Server(adapter=RedisAdapter("redis://127.0.0.1:6379/0"))``: broadcasts, room
operations, disconnects, broadcast acks, ``fetch_sockets`` and server-side
events reach the sockets of every process that uses the same Redis and
channel prefix. Membership stays local (:class:`MemoryAdapter`): each server
knows its own sockets' rooms, and a cluster operation is "do this locally"
sent to everyone. The wire format is in :mod:`socketio_core.redis._codec`.

One adapter for both drivers (the gevent ``Server`` and ``AsyncServer``):
Redis I/O never runs on the server's loop. :mod:`socketio_core.redis._link`
owns the connections on two threads (why threads: see there) and hands
results over through the server's :class:`~transports._runtime.Runtime`
(``call_soon_threadsafe``); timers are the runtime's too. Messages from the
subscriber thread are queued, and the first message of a burst wakes the
loop, which hands the batch to one worker (a greenlet, or a call on the
asyncio loop) that handles it in arrival order. Everything here runs on the
loop's thread and never waits: a request (``fetch_sockets``, broadcast acks,
server-side events with answers) ends in a callback, which a gevent caller
waits for in its greenlet (:meth:`RedisAdapter._wait`) and an asyncio caller
awaits (``AsyncServer``'s coroutines); the recovery log answers a claim the
same way.

Every server delivers to its own sockets itself and ignores its own messages
on the channel, so no client gets a message twice. A request (broadcast acks,
``fetch_sockets``, server-side events with answers) learns how many servers
to wait for from ``PUBLISH``'s return value: the servers subscribed at that
instant, itself included when its subscriber is connected, in which case it
also receives its own request back (the "echo") and counts that as its own
answer. So the count is exact even while this server's subscriber reconnects.

With connection state recovery on, recoverable broadcasts are recorded in
a Redis Stream and saved sessions kept in Redis, so that any server can
recover any client: see :mod:`socketio_core.redis._recovery`. Such a
broadcast comes back to its own server through the channel (with its
offset), and is delivered locally then.

When Redis goes away, local delivery goes on; messages for the other servers
are dropped (pub/sub keeps nothing for absent subscribers); requests answer
with what arrived. The link reconnects with backoff, logging state changes.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import logging
from collections import deque
from functools import partial
from inspect import isawaitable
from time import monotonic
from typing import TYPE_CHECKING, Any, Callable

from . import _codec as codec
from ..server import MemoryAdapter, SocketInfo
from ._link import Done, RedisLink, redact, require_redis
from ._recovery import RedisRecoveryLog, parse_offset

if TYPE_CHECKING:
    import redis

    from ..server import LocalDelivery

__all__ = ["RedisAdapter", "redact"]

log = logging.getLogger(__name__)


class _Request:
    """A request this server sent to the others, waiting for their replies.

    Complete once ``PUBLISH`` said how many servers received it, each of them
    replied (this server's echo counts as its own reply), and ``ready()``
    (the kind's own condition, e.g. every expected ack arrived) holds; or
    when the timeout fires. ``finish`` runs exactly once.
    """

    def __init__(
        self,
        adapter: "RedisAdapter",
        req: str,
        on_reply: Callable[[dict[str, Any]], None],
        finish: Callable[[], None],
        ready: Callable[[], bool] = lambda: True,
    ) -> None:
        self.adapter = adapter
        self.req = req
        self.on_reply = on_reply
        self._finish = finish
        self.ready = ready
        self.published: int | None = None
        self.echoed = False
        self.replied: set[str] = set()
        self.timer: Any = None
        self.finished = False

    def start_timer(self, timeout: float | None) -> None:
        if timeout is not None:
            self.timer = self.adapter.server.runtime.call_later(max(timeout, 0.0), self.finish)

    def check(self) -> None:
        if self.finished or self.published is None:
            return
        if len(self.replied) + self.echoed >= self.published and self.ready():
            self.finish()

    def finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        if self.timer is not None:
            self.timer.cancel()
        self.adapter._requests.pop(self.req, None)
        missing = (self.published or 0) - len(self.replied) - self.echoed
        if missing > 0:
            log.warning("request %s: %d server(s) did not answer in time", self.req, missing)
        self._finish()


class RedisAdapter(MemoryAdapter):
    """Relays the cluster operations to every server on the same Redis.

    ``url`` is a redis-py URL (``redis://[:password@]host:port/db``,
    ``rediss://`` for TLS, ``unix://``); ``redis_options`` go to
    ``redis.Redis.from_url``. Servers talk to each other only when they use
    the same Redis database and ``channel_prefix``. ``request_timeout`` bounds
    ``fetch_sockets``; ``startup_timeout`` is how long attaching waits for the
    first subscription (the server starts anyway, serving locally, if Redis is
    not there yet); reconnection backoff grows from ``backoff_min`` to
    ``backoff_max`` seconds.
    """

    #: Flask-SocketIO's ``client_manager.write_only``: a server's adapter, not a write-only emitter.
    write_only = False
    #: Its link to Redis runs on threads of its own, handing results to either driver's loop.
    runs_on = frozenset({"gevent", "asyncio"})
    #: False in a subclass that relays through another link (``socketio_core.cluster``).
    needs_redis = True

    #: Seconds of silence on the subscription before it PINGs Redis; no answer
    #: within twice that more and the connection is deemed dead and replaced.
    liveness_interval = 5.0
    #: Messages waiting for the publisher beyond which new ones are dropped
    #: (a Redis that is slow but alive must not make this process grow without bound).
    max_pending = 100_000

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        channel_prefix: str = "socket.io",
        request_timeout: float = 5.0,
        startup_timeout: float = 5.0,
        backoff_min: float = 0.1,
        backoff_max: float = 2.0,
        redis_options: dict[str, Any] | None = None,
    ) -> None:
        if self.needs_redis:
            require_redis()
        super().__init__()
        self.url = url
        self.channel_prefix = channel_prefix
        self.request_timeout = request_timeout
        self.startup_timeout = startup_timeout
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.redis_options = dict(redis_options or {})
        self.uid = codec.new_uid()
        self.channel = codec.all_channel(channel_prefix)
        self.reply_to = codec.reply_channel(channel_prefix, self.uid)
        self._requests: dict[str, _Request] = {}
        self._req_ids = itertools.count(1)
        #: The loop a subclass captured before the server bound one (socketio_core.cluster's).
        self._hub: Any = None
        self._closed = False
        self._link: RedisLink | None = None
        # subscriber thread -> the server's loop
        self._inbox: deque[dict[str, Any]] = deque()
        self._wake_pending = False
        self._draining = False
        self._bad_messages = 0
        self._recovery: RedisRecoveryLog | None = None
        #: The newest recorded broadcast (stream offset) delivered here (recovery).
        self.last_offset: tuple[int, int] | None = None
        #: Restores waiting on Redis: each collects the recorded broadcasts
        #: delivered here meanwhile, which its stream read may not contain.
        self.restore_taps: list[list[tuple[tuple[int, int], str, dict[str, Any]]]] = []

    def recovery_log(self, options: dict[str, Any]) -> RedisRecoveryLog:
        """Connection state recovery in Redis: any server can recover any client."""
        self._recovery = RedisRecoveryLog(self, **options)
        return self._recovery

    def note_offset(self, position: tuple[int, int] | None) -> None:
        if position is not None and (self.last_offset is None or position > self.last_offset):
            self.last_offset = position

    # -------------------------------------------------------------- lifecycle

    def attach(self, server: "LocalDelivery") -> None:
        super().attach(server)
        # What the link hands over before the server's loop is bound (it is
        # built, not yet serving) waits in its runtime for that loop.
        self._link = RedisLink(
            self.url,
            (self.channel, self.reply_to),
            on_message=self._received,
            to_hub=self._to_hub,
            backoff_min=self.backoff_min,
            backoff_max=self.backoff_max,
            redis_options=self.redis_options,
            liveness_interval=self.liveness_interval,
            max_pending=self.max_pending,
            describe=f"channel {self.channel}, server {self.uid}",
        )
        self._link.start(self.uid)
        # Subscribed before serving: no broadcast of another server is missed
        # from the first client on. A refused connection ends the wait at once
        # (the server starts anyway and joins the cluster later).
        if not self._link.first_attempt.wait(self.startup_timeout):
            log.warning(
                "redis at %s has not answered within %g s: serving local clients, joining the "
                "cluster when it does", redact(self.url), self.startup_timeout,
            )
        if self._recovery is not None:
            self._recovery.start()

    def close(self) -> None:
        """Unsubscribe, stop the Redis threads, end open requests (with what they have).

        Waits up to a second for the subscription to end, so that the other
        servers stop counting this one as soon as it is gone.
        """
        if self._closed:
            return
        self._closed = True
        for request in list(self._requests.values()):
            request.finish()
        if self._link is not None:
            self._link.close()

    # -------------------------------------------------------- loop hand-off

    def _to_hub(self, fn: Callable[..., Any], *args: Any) -> None:
        """From a Redis thread: run ``fn(*args)`` on the server's loop thread."""
        try:
            self.server.runtime.call_soon_threadsafe(fn, *args)
        except Exception:  # the loop is gone: the server stopped
            if not self._closed:
                log.debug("could not hand a result to the server's loop", exc_info=True)

    def _in_hub_thread(self) -> bool:
        return self.server.in_hub_thread()

    def _serving_hub(self) -> Any:
        """The loop serving the server (for subclasses whose link lives on it)."""
        return self.server.hub or self._hub

    def _wait(self, start: Callable[[Done], None], timeout: float) -> Any:
        """Run ``start(done)`` on the loop and wait for ``done(value)``; TimeoutError
        after ``timeout`` seconds.

        For a caller that may block: a greenlet of the gevent server, or any
        thread but the loop's. On the asyncio loop itself it raises
        RuntimeError (waiting there would stall every client): await
        ``AsyncServer``'s coroutines instead, which use the callbacks directly.
        """
        runtime = self.server.runtime
        if self.server.in_hub_thread():
            result = runtime.waitable()
            timer = runtime.call_later(timeout, result.set_exception,
                                       TimeoutError(f"no answer from redis within {timeout} s"))
            try:
                start(result.set)
                return result.get()
            finally:
                timer.cancel()
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._to_hub(start, future.set_result)
        return future.result(timeout)

    # ------------------------------------------------------------ publishing

    def _publish(self, message: dict[str, Any], *, channel: str | None = None,
                 done: Done | None = None, lenient: bool = False) -> None:
        """Queue ``message`` for the publisher thread; ``done(count or None)`` on the loop."""
        message["uid"] = self.uid
        payload = codec.dumps(message, lenient=lenient)
        target = channel or self.channel
        self._run(lambda client: int(client.publish(target, payload)), done)

    def _run(self, command: Callable[["redis.Redis"], Any], done: Done | None) -> None:
        if self._link is None or self._closed:
            if done is not None:
                done(None)
            return
        self._link.run(command, done)

    # ----------------------------------------------------------- subscribing

    def _received(self, raw: bytes) -> None:
        """On the subscriber thread: decode, drop our own echoes, queue for the loop."""
        try:
            message = codec.loads(raw)
        except codec.MessageError as exc:
            self._bad_messages += 1
            (log.warning if self._bad_messages == 1 else log.debug)(
                "ignoring a message that is not ours on %s: %s (further ones logged at debug)",
                self.channel, exc,
            )
            return
        if (message["uid"] == self.uid and message["type"] not in codec.REQUEST_TYPES
                and "offset" not in message):
            return  # (a recorded broadcast of ours is delivered here when it comes back)
        self._inbox.append(message)
        # Wake the loop once per burst; it clears the flag before draining, so a
        # message appended after the drain started still gets a wake-up.
        if not self._wake_pending:
            self._wake_pending = True
            self._to_hub(self._wake)

    def _wake(self) -> None:
        self._wake_pending = False
        if not self._draining and self._inbox:
            self._draining = True
            self.server.workers.submit(self._drain)

    def _drain(self) -> None:
        """In one worker at a time: handle queued messages in arrival order."""
        try:
            inbox = self._inbox
            if len(inbox) > 1:
                # A burst (one read of the bus or of Redis): each local recipient
                # gets one write for all of its broadcasts, not two.
                self.server.broadcasts_follow()
            while inbox:
                message = inbox.popleft()
                try:
                    self._dispatch(message)
                except codec.MessageError as exc:
                    log.warning("ignoring a bad %r message from %s: %s",
                                message.get("type"), message.get("uid"), exc)
                except (KeyError, TypeError, ValueError) as exc:
                    log.warning("ignoring a malformed %r message from %s: %r",
                                message.get("type"), message.get("uid"), exc)
                except Exception:  # a bug, or an application hook that failed: go on
                    log.exception("handling a %r message from %s failed",
                                  message.get("type"), message.get("uid"))
        finally:
            self._draining = False

    # ------------------------------------------------------ incoming messages

    def _dispatch(self, m: dict[str, Any]) -> None:
        kind = m["type"]
        server = self.server
        if kind in codec.REPLY_TYPES:
            request = self._requests.get(m["req"])
            if request is not None:
                request.on_reply(m)
                request.check()
            return
        if m["uid"] == self.uid and kind != "broadcast":  # our own request came back: we are our own answer
            request = self._requests.get(m.get("req", ""))
            if request is not None:
                request.echoed = True
                request.check()
            return
        if kind == "broadcast":
            data = m["data"]
            if not isinstance(data, list) or not data:
                raise codec.MessageError("data must be a non-empty list")
            if "offset" in m:  # recorded for connection state recovery
                position = parse_offset(m["offset"])
                if position is None:
                    raise codec.MessageError("bad offset")
                self.note_offset(position)
                for tap in self.restore_taps:
                    tap.append((position, m["offset"], m))
                data = [*data, m["offset"]]
            server.deliver_local(
                str(m["nsp"]), data, codec.rooms_field(m.get("rooms")),
                codec.names_field(m.get("skip", [])), bool(m.get("volatile", False)),
            )
        elif kind == "join":
            server.local_sockets_join(str(m["nsp"]), codec.rooms_field(m.get("rooms")),
                                      codec.names_field(m["new_rooms"]))
        elif kind == "leave":
            server.local_sockets_leave(str(m["nsp"]), codec.rooms_field(m.get("rooms")),
                                       codec.names_field(m["old_rooms"]))
        elif kind == "disconnect":
            server.local_disconnect_sockets(str(m["nsp"]), codec.rooms_field(m.get("rooms")),
                                            bool(m.get("close", False)))
        elif kind == "server_event":
            self._answer_server_event(m)
        elif kind == "fetch":
            infos = server.local_socket_infos(str(m["nsp"]), codec.rooms_field(m.get("rooms")))
            self._reply(m, {"type": "sockets", "sockets": [_info_to_wire(i) for i in infos]},
                        lenient=True)
        elif kind == "broadcast_ack":
            self._answer_broadcast_ack(m)
        else:
            log.debug("ignoring a %r message from %s", kind, m["uid"])

    def _reply(self, request: dict[str, Any], message: dict[str, Any], *, lenient: bool = False) -> None:
        message["req"] = request["req"]
        self._publish(message, channel=codec.reply_channel(self.channel_prefix, request["uid"]),
                      lenient=lenient)

    def _answer_server_event(self, m: dict[str, Any]) -> None:
        event, args = m["event"], m.get("args", [])
        if not isinstance(event, str) or not isinstance(args, list):
            raise codec.MessageError("event must be a string and args a list")

        async def run() -> None:
            try:
                answer = self.server.handle_server_event(event, args)
                if isawaitable(answer):  # an ``async def`` handler (AsyncServer)
                    answer = await answer
            except Exception:
                log.exception("server event handler for %r failed", event)
                answer = None
            if m.get("req") is not None:
                self._reply(m, {"type": "server_answer", "answer": answer}, lenient=True)

        # A handler may wait (even for other servers): a worker greenlet of its
        # own under gevent, a task under asyncio (one coroutine for both).
        self.server.runtime.run_coroutine(run())

    def _answer_broadcast_ack(self, m: dict[str, Any]) -> None:
        nsp = str(m["nsp"])
        data = m["data"]
        if not isinstance(data, list) or not data:
            raise codec.MessageError("data must be a non-empty list")
        timeout = m.get("timeout")
        deadline = None if timeout is None else monotonic() + float(timeout)
        volatile = m.get("volatile") is True
        sids = self.members(nsp, codec.rooms_field(m.get("rooms")), codec.names_field(m.get("skip", [])))
        sent = 0
        # One gathering per socket, so that each answer travels as soon as it
        # arrives (a single slow client must not hold the others' answers back
        # past the requester's timeout). Acks need a packet per socket anyway.
        for sid in sids:
            def answered(answers: dict[str, Any], _sid: str = sid) -> None:
                if _sid not in answers or (deadline is not None and monotonic() > deadline):
                    return
                value = answers[_sid]
                self._reply(m, {"type": "ack", "sid": _sid, "tuple": isinstance(value, tuple),
                                "answer": list(value) if isinstance(value, tuple) else value},
                            lenient=True)

            # No timeout here: ``answered`` drops what comes after the deadline.
            sent += self.server.deliver_local_with_ack(nsp, data, [_sid_room(sid)], [], answered, None, volatile)
        # Counted after sending (volatile ones may be dropped); no client can
        # have answered yet, so the count still travels before any ack.
        self._reply(m, {"type": "ack_count", "count": sent})

    # ------------------------------------------------- cluster-wide operations

    def broadcast(
        self,
        namespace: str,
        data: list[Any],
        rooms: list[str] | None,
        skip: list[str],
        volatile: bool = False,
    ) -> None:
        self.server.deliver_local(namespace, data, rooms, skip, volatile)
        self._publish({"type": "broadcast", "nsp": namespace, "data": data, "rooms": rooms,
                       "skip": skip, "volatile": volatile})

    def sockets_join(self, namespace: str, rooms: list[str] | None, new_rooms: list[str]) -> None:
        self.server.local_sockets_join(namespace, rooms, new_rooms)
        self._publish({"type": "join", "nsp": namespace, "rooms": rooms, "new_rooms": new_rooms})

    def sockets_leave(self, namespace: str, rooms: list[str] | None, old_rooms: list[str]) -> None:
        self.server.local_sockets_leave(namespace, rooms, old_rooms)
        self._publish({"type": "leave", "nsp": namespace, "rooms": rooms, "old_rooms": old_rooms})

    def disconnect_sockets(self, namespace: str, rooms: list[str] | None, close: bool) -> None:
        self.server.local_disconnect_sockets(namespace, rooms, close)
        self._publish({"type": "disconnect", "nsp": namespace, "rooms": rooms, "close": close})

    def _new_request(
        self,
        message: dict[str, Any],
        on_reply: Callable[[dict[str, Any]], None],
        finish: Callable[[], None],
        timeout: float | None,
        ready: Callable[[], bool] = lambda: True,
    ) -> _Request:
        """Register a request, start its timer, publish it (on the loop's thread)."""
        req = f"{self.uid}-{next(self._req_ids)}"
        request = _Request(self, req, on_reply, finish, ready)
        self._requests[req] = request
        request.start_timer(timeout)

        def published(count: int | None) -> None:
            request.published = count or 0
            request.check()

        message["req"] = req
        self._publish(message, done=published)
        return request

    def broadcast_with_ack(
        self,
        namespace: str,
        data: list[Any],
        rooms: list[str] | None,
        skip: list[str],
        callback: Callable[[dict[str, Any]], None],
        timeout: float | None,
        volatile: bool = False,
    ) -> None:
        answers: dict[str, Any] = {}
        state = {"expected": 0, "received": 0, "local_done": False}

        def on_reply(m: dict[str, Any]) -> None:
            if m["type"] == "ack_count":
                request.replied.add(m["uid"])
                state["expected"] += int(m["count"])
            elif m["type"] == "ack" and isinstance(m.get("sid"), str):
                state["received"] += 1
                value = m.get("answer")
                answers[m["sid"]] = tuple(value) if m.get("tuple") and isinstance(value, list) else value

        def ready() -> bool:
            return bool(state["local_done"]) and state["received"] >= state["expected"]

        def finish() -> None:
            self.server.workers.submit(callback, answers)

        def local_done(local: dict[str, Any]) -> None:
            answers.update(local)
            state["local_done"] = True
            request.check()

        request = self._new_request(
            {"type": "broadcast_ack", "nsp": namespace, "data": data, "rooms": rooms,
             "skip": skip, "timeout": timeout, "volatile": volatile},
            on_reply, finish, timeout, ready,
        )
        # May call local_done at once (no local recipient): the request exists by then.
        self.server.deliver_local_with_ack(namespace, data, rooms, skip, local_done, timeout, volatile)

    def fetch_sockets(self, namespace: str, rooms: list[str] | None) -> list[SocketInfo]:
        """Every matching socket of every server; servers that did not answer within
        ``request_timeout`` are missing from the list (and a warning is logged).
        Waits: see :meth:`_wait` (``fetch_sockets_then`` does not)."""
        return list(self._wait(partial(self.fetch_sockets_then, namespace, rooms),
                               self.request_timeout + 1.0))

    def fetch_sockets_then(
        self, namespace: str, rooms: list[str] | None, callback: Callable[[list[SocketInfo]], None]
    ) -> None:
        """On the loop: ``callback(sockets)`` once every server answered (or at ``request_timeout``)."""
        found = self.server.local_socket_infos(namespace, rooms)

        def on_reply(m: dict[str, Any]) -> None:
            if m["type"] == "sockets" and isinstance(m.get("sockets"), list):
                request.replied.add(m["uid"])
                found.extend(_info_from_wire(s) for s in m["sockets"] if isinstance(s, dict))

        request = self._new_request(
            {"type": "fetch", "nsp": namespace, "rooms": rooms},
            on_reply, lambda: callback(found), self.request_timeout,
        )

    def server_side_emit(
        self,
        event: str,
        args: list[Any],
        callback: Callable[[list[Any]], None] | None,
        timeout: float | None,
    ) -> None:
        message = {"type": "server_event", "event": event, "args": args}
        if callback is None:
            self._publish(message)
            return
        answers: list[Any] = []

        def on_reply(m: dict[str, Any]) -> None:
            if m["type"] == "server_answer":
                request.replied.add(m["uid"])
                answers.append(m.get("answer"))

        def finish() -> None:
            assert callback is not None
            self.server.workers.submit(callback, answers)

        request = self._new_request(message, on_reply, finish, timeout)

    def server_count(self) -> int:
        """Servers subscribed to the channel (``PUBSUB NUMSUB``); 1 when Redis cannot tell.
        Waits: see :meth:`_wait`."""

        def numsub(client: "redis.Redis") -> int:
            return int(client.pubsub_numsub(self.channel)[0][1])

        def start(done: Done) -> None:
            self._run(numsub, done)

        try:
            count = self._wait(start, self.request_timeout)
        except TimeoutError:  # concurrent.futures' too (the same class)
            count = None
        return max(1, count or 0)


def _sid_room(sid: str) -> str:
    return sid  # every socket is in the room named by its sid


def _info_to_wire(info: SocketInfo) -> dict[str, Any]:
    return {"sid": info.sid, "nsp": info.namespace, "rooms": sorted(info.rooms),
            "handshake": info.handshake, "data": info.data}


def _info_from_wire(s: dict[str, Any]) -> SocketInfo:
    rooms = s.get("rooms")
    return SocketInfo(
        sid=str(s.get("sid")),
        namespace=str(s.get("nsp")),
        rooms=frozenset(r for r in rooms if isinstance(r, str)) if isinstance(rooms, list) else frozenset(),
        handshake=s["handshake"] if isinstance(s.get("handshake"), dict) else {},
        data=s["data"] if isinstance(s.get("data"), dict) else {},
    )
