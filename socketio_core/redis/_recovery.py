"""Connection state recovery kept in Redis, so that any server of a cluster can recover a client.

What :class:`RedisAdapter` gives the server as its recovery log
(``Server(adapter=RedisAdapter(url), connection_state_recovery=...)``). Needs
Redis 6.2 or later (``GETDEL``, ``XRANGE`` with an exclusive start).

Recording. A recoverable broadcast is one Lua script on Redis, run by the
emitting server only: ``XADD`` the broadcast message (the JSON of
:mod:`_redis_codec`) to the stream ``<prefix>#py1#recovery``, trim the
stream, then ``PUBLISH`` the same message with ``"offset": <entry id>`` on the
channel. The stream entry id *is* the offset (``"<ms>-<seq>"``): every server,
the emitting one included, delivers the broadcast to its own sockets when it
receives it from the channel, appending that offset to the EVENT arguments, so
all clients see the same offsets. Because ``XADD`` and ``PUBLISH`` happen in
one script, the channel's order is the stream's order, and every server
delivers recorded broadcasts in stream order. (If the script fails, Redis is
unreachable: the packet is delivered to this server's sockets without an
offset, and cannot be recovered, like any packet the other servers miss. If
it succeeds while this server's own subscription is down, e.g. while it
resubscribes after a Redis restart, the emitting server delivers it locally
at once, with its offset; in that short window a packet could reach this
server's sockets twice, or, from other servers, not at all, as without
recovery.)

Bounds, enforced by the script after each ``XADD``: at most ``max_packets``
entries; at most ``max_bytes`` bytes of encoded messages (the sum of the
JSON sizes; Redis's own per-entry overhead, a few tens of bytes, and up to
one partly deleted stream node come on top); no entry older than
``max_disconnection_duration`` (by Redis's clock: the ids are its
timestamps). The oldest entries go first. The stream and its byte counter
also expire after the window without new packets.

Sessions. A socket that went away for a reason other than a deliberate
disconnect is saved under ``<prefix>#py1#session#<pid>`` (``SET ... PX
<window>``). A reconnecting client's CONNECT is handled, on whichever server
it reaches, by one transaction: ``GETDEL`` the session (so one claim wins)
and ``XRANGE`` from its offset; the offset must still be the first entry
returned (else it left the stream: the client starts afresh). Of the
entries after it, those addressed to the socket (namespace, rooms, skip) are
the missed packets, *except* those this server has not delivered locally
yet: they are on their way through the channel, and reach the socket
normally because it joins its rooms first. The server knows which ones by
the last offset it delivered (channel order = stream order).

All Redis I/O runs on the adapter's publisher thread (:mod:`._link`);
``restore_then`` waits for nothing: Redis's answer comes back on the server's
loop thread (gevent or asyncio alike) and is handed to ``done`` there, or
``done(None)`` after ``request_timeout`` (a claim answered later than that puts
the session back, so the client may try again).

Not recorded: broadcasts published by :mod:`socketio_core.emitter` (another
process), packets sent with an ack callback, and volatile ones, as in Node.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from typing import TYPE_CHECKING, Any, Callable

from . import _codec as codec
from ..protocol._recovery import SavedSession

if TYPE_CHECKING:
    import redis

    from ..server import Adapter
    from ._adapter import RedisAdapter

__all__ = ["RedisRecoveryLog", "RECORD_SCRIPT", "parse_offset"]

log = logging.getLogger(__name__)

#: KEYS: stream, byte counter. ARGV: message (a JSON object), channel,
#: max_packets, max_bytes, window (ms). Returns the entry id (the offset).
RECORD_SCRIPT = """
pcall(redis.replicate_commands)
local stream, counter = KEYS[1], KEYS[2]
local message, channel = ARGV[1], ARGV[2]
local max_packets, max_bytes, window = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local size = string.len(message)
local id = redis.call('XADD', stream, '*', 'm', message, 's', size)
local total = redis.call('INCRBY', counter, size)
local now = redis.call('TIME')
local horizon = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - window
local count = redis.call('XLEN', stream)
while count > 0 do
  local oldest = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
  if oldest == nil then break end
  local ms = tonumber(string.match(oldest[1], '^(%d+)'))
  if count <= max_packets and total <= max_bytes and ms >= horizon then break end
  local fields, osize = oldest[2], 0
  for i = 1, #fields, 2 do
    if fields[i] == 's' then osize = tonumber(fields[i + 1]) end
  end
  redis.call('XDEL', stream, oldest[1])
  total = redis.call('INCRBY', counter, -osize)
  count = count - 1
end
if count == 0 then redis.call('SET', counter, 0) end
redis.call('PEXPIRE', stream, window)
redis.call('PEXPIRE', counter, window)
redis.call('PUBLISH', channel, string.sub(message, 1, -2) .. ',"offset":"' .. id .. '"}')
return id
"""
_RECORD_SHA = hashlib.sha1(RECORD_SCRIPT.encode()).hexdigest()

_OFFSET = re.compile(r"^(\d{1,20})-(\d{1,20})$")


def parse_offset(value: Any) -> tuple[int, int] | None:
    """A stream entry id as a comparable pair, or None if ``value`` is not one."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    match = _OFFSET.match(value) if isinstance(value, str) else None
    return (int(match[1]), int(match[2])) if match else None


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def record_command(
    stream: str, counter: str, message: bytes, channel: str,
    max_packets: int, max_bytes: int, window_ms: int,
) -> "Any":
    """The publisher-thread command that records and publishes ``message``; returns the offset."""

    def command(client: "redis.Redis") -> str:
        import redis as redis_module

        keys_and_args = (stream, counter, message, channel, max_packets, max_bytes, window_ms)
        try:
            result = client.evalsha(_RECORD_SHA, 2, *keys_and_args)
        except redis_module.exceptions.NoScriptError:
            result = client.eval(RECORD_SCRIPT, 2, *keys_and_args)
        return _text(result)

    return command


class RedisRecoveryLog:
    """The recovery log of a :class:`RedisAdapter`: see the module's documentation."""

    def __init__(
        self,
        adapter: "RedisAdapter",
        *,
        max_disconnection_duration: float = 120.0,
        max_packets: int = 10_000,
        max_bytes: int = 10_000_000,
        skip_middlewares: bool = True,
    ) -> None:
        self.adapter = adapter
        self.max_disconnection_duration = max_disconnection_duration
        self.max_packets = max_packets
        self.max_bytes = max_bytes
        self.skip_middlewares = skip_middlewares
        base = f"{codec.all_channel(adapter.channel_prefix)}#recovery"
        self.stream = base
        self.counter = f"{base}#bytes"
        self.session_prefix = f"{codec.all_channel(adapter.channel_prefix)}#session#"

    @property
    def _window_ms(self) -> int:
        return max(1, int(self.max_disconnection_duration * 1000))

    @property
    def window_ms(self) -> int:
        """How long a saved session is kept (ms)."""
        return self._window_ms

    def new_pid(self) -> str:
        return secrets.token_urlsafe(15)

    # ------------------------------------------------------------ recording

    def broadcast(
        self, adapter: "Adapter", namespace: str, data: list[Any], rooms: list[str] | None,
        skip: list[str], now: float,
    ) -> None:
        """Record and publish; every server (this one too) delivers it from the channel."""
        redis_adapter = self.adapter
        server = redis_adapter.server
        try:
            message = codec.dumps({"type": "broadcast", "uid": redis_adapter.uid, "nsp": namespace,
                                   "data": data, "rooms": rooms, "skip": skip, "volatile": False})
        except TypeError:
            server.deliver_local(namespace, data, rooms, skip, False)
            raise

        def done(offset: str | None) -> None:
            if offset is None:  # Redis is unreachable: this server's sockets still get it
                server.deliver_local(namespace, data, rooms, skip, False)
                return
            link = getattr(redis_adapter, "_link", None)
            if link is not None and not link.subscribed.is_set():
                # Recorded, but our subscription is down (Redis restarting): it
                # will not come back to us, so deliver it here now.
                redis_adapter.note_offset(parse_offset(offset))
                server.deliver_local(namespace, [*data, offset], rooms, skip, False)

        redis_adapter._run(self._record_command(message), done)

    # ------------------------------------------------------------- sessions

    def session_value(self, session: SavedSession) -> bytes:
        """The stored form of ``session`` (what :meth:`restore` reads back); TypeError if its
        data cannot be stored. Also how ``socketio_core.cluster`` describes a live session."""
        return codec.dumps({"type": "session", "uid": self.adapter.uid, "sid": session.sid,
                            "pid": session.pid, "nsp": session.namespace,
                            "rooms": sorted(session.rooms), "data": session.data})

    def save(self, session: SavedSession) -> None:
        try:
            value = self.session_value(session)
        except TypeError as exc:
            log.warning("socket %s cannot be recovered: its data cannot be stored in redis (%s)",
                        session.sid, exc)
            return
        self.adapter._run(self._save_command(self.session_prefix + session.pid, value), None)

    def restore_then(
        self, pid: str, offset: str, now: float,
        done: Callable[[tuple[SavedSession, list[list[Any]]] | None], None],
        *, fallback: str | None = None,
    ) -> None:
        """Claim the session and read what it missed; ``done(result)`` on the loop's thread.

        ``fallback``: the session's stored form to use when Redis has none
        (``socketio_core.cluster``'s: what the supervisor kept of a killed worker).
        """
        start = parse_offset(offset)
        if start is None or not pid or len(pid) > 200:
            done(None)
            return
        adapter = self.adapter
        key = self.session_prefix + pid
        # Broadcasts delivered here while Redis answers reach nobody for this
        # socket (it is not in its rooms yet) and may be newer than the stream
        # read: collect them too.
        tap: list[tuple[tuple[int, int], str, dict[str, Any]]] = []
        taps: list[Any] = getattr(adapter, "restore_taps", [])
        taps.append(tap)
        settled = False

        def answered(reply: Any) -> None:
            nonlocal settled
            if settled:  # too late: the claim took the session, put it back
                session = reply[0] if reply and reply[0] is not None else fallback
                if session is not None:  # (the hub's claim answers text, Redis bytes)
                    value = session.encode() if isinstance(session, str) else session
                    adapter._run(self._save_command(key, value), None)
                return
            settled = True
            timer.cancel()
            taps.remove(tap)
            if fallback is not None and reply and reply[0] is None:
                reply = [fallback, reply[1]]
            done(self._missed(reply, start, tap, now))

        def too_late() -> None:
            nonlocal settled
            if not settled:
                settled = True
                taps.remove(tap)
                log.warning("redis did not answer in time: a client could not be recovered")
                done(None)

        timer = adapter.server.runtime.call_later(adapter.request_timeout, too_late)
        adapter._run(self._claim_command(key, offset), answered)

    def _missed(
        self, reply: Any, start: tuple[int, int], tap: list[tuple[tuple[int, int], str, dict[str, Any]]],
        now: float,
    ) -> tuple[SavedSession, list[list[Any]]] | None:
        """The session and the packets it missed, from Redis's ``reply`` and the ``tap``."""
        if not reply or reply[0] is None:
            return None
        raw_session, entries = reply
        try:
            saved = json.loads(raw_session)
            session = SavedSession(
                sid=str(saved["sid"]), pid=str(saved["pid"]), namespace=str(saved["nsp"]),
                rooms={r for r in saved["rooms"] if isinstance(r, str)},
                data=saved["data"] if isinstance(saved["data"], dict) else {}, saved_at=now,
            )
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring a malformed saved session in redis")
            return None
        if not entries or parse_offset(entries[0][0]) != start:
            return None  # the offset left the stream: the client starts afresh
        # Entries after the last one this server delivered are still coming
        # through the channel: the socket gets them like any other member.
        delivered = self.adapter.last_offset
        targets = session.rooms | {session.sid}
        found: dict[tuple[int, int], list[Any]] = {}

        def consider(position: tuple[int, int], entry_id: str, message: dict[str, Any]) -> None:
            try:
                rooms = codec.rooms_field(message.get("rooms"))
                skip = codec.names_field(message.get("skip", []))
                data = message["data"]
            except (codec.MessageError, KeyError):
                return
            if message.get("nsp") != session.namespace or not isinstance(data, list):
                return
            if rooms is not None and not targets.intersection(rooms):
                return
            if skip and targets.intersection(skip):
                return
            found[position] = [*data, entry_id]

        for entry_id, fields in entries[1:]:
            position = parse_offset(entry_id)
            if position is None or delivered is None or position > delivered:
                break
            raw = fields.get(b"m", fields.get("m"))
            try:
                message = codec.loads(raw)
            except codec.MessageError:
                continue
            consider(position, _text(entry_id), message)
        for position, entry_id, message in tap:
            if position > start and position not in found:
                consider(position, entry_id, message)
        return session, [found[p] for p in sorted(found)]

    def start(self) -> None:
        """After the adapter attached: learn where the stream stands (entries up to
        there were published before this server listened, so it never delivers them)."""

        def done(reply: Any) -> None:
            if reply:
                self.adapter.note_offset(parse_offset(reply[0][0]))

        self.adapter._run(self._last_command(), done)

    # ------------------------------------------- the commands, by the link's client
    # One method each, so that a subclass whose link is not Redis
    # (socketio_core.cluster) keeps every decision above and swaps these.

    def _record_command(self, message: bytes) -> Any:
        """Record and publish ``message``; the command returns the offset."""
        return record_command(self.stream, self.counter, message, self.adapter.channel,
                              self.max_packets, self.max_bytes, self._window_ms)

    def _save_command(self, key: str, value: bytes) -> Any:
        window = self._window_ms
        return lambda client: client.set(key, value, px=window)

    def _claim_command(self, key: str, offset: str) -> Any:
        """``[session or None, [(entry id, {"m": message}), ...]]``: claim and read from ``offset``."""
        stream = self.stream

        def command(client: "redis.Redis") -> Any:
            pipe = client.pipeline(transaction=True)
            pipe.getdel(key)
            pipe.xrange(stream, min=offset, max="+")
            return pipe.execute()

        return command

    def _last_command(self) -> Any:
        """The newest entry (``[(id, fields)]``, empty when none)."""
        stream = self.stream
        return lambda client: client.xrevrange(stream, max="+", min="-", count=1)
