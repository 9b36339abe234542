"""The workers' bus: a pub/sub hub held by the supervisor, and its wire frames.

Without Redis, the workers of one machine still act as one cluster: the
cluster logic is the Redis adapter's (``socketio_core.redis``), given a
different link (``socketio_core.cluster``) that talks to this hub over one
Unix stream socket per worker instead of to Redis. The hub does for it what
Redis does, and nothing else:

* pub/sub: ``publish(channel, payload)`` reaches every worker subscribed to
  the channel, the sender included, and answers how many that was (the
  Redis adapter counts the replies it waits for that way);
* the recovery log of connection state recovery (shared, so that a client
  recovers on whichever worker it reconnects to): an append-only stream of
  recorded broadcasts with Redis-stream-like ids (``"<ms>-<seq>"``), bounded
  by count, bytes and age, whose "record" also publishes the message with
  its offset (one step, so channel order is stream order, as the Redis
  script guarantees); and saved sessions with an expiry, claimed once. A
  claim that finds nothing while a worker drains waits (up to
  :data:`PARK_SECONDS`) for that worker's saves: its client may reconnect
  before the worker has saved its session.
* live sessions, so that a worker killed without warning (SIGKILL, a crash)
  loses none: each worker tells the hub, in one-way frames, when a
  recoverable socket connects (``LIVE``: its stored form, as a save would
  write it), joins or leaves a room (``ROOM``) and leaves (``GONE``). When a
  worker's bus ends, its live sessions still there become saved sessions,
  with the window each was announced with, as if the worker had saved them
  itself at that moment; the next claim finds them, and the stream gives the
  packets they missed (the dead worker delivered nothing after its end, and
  the client's offset says what it got). A ``LIVE`` frame for a socket
  already live replaces its copy: a worker sends one again when the
  socket's data is saved (``save_session``), so the copy holds the latest.
  A claim of a session still live on a worker waits (up to
  :data:`LIVE_PARK_SECONDS`) for that worker to save it or to end: a client
  may reconnect before its worker noticed the old connection's end, or
  before the supervisor noticed the worker's.
* with Redis between the workers (``message_queue=``), saved sessions and
  the stream are Redis's, but the live sessions are still kept here (one
  frame per connect, room change and data save, no Redis write): a worker's
  claim first asks the hub (``KEPT``) for what it kept of a dead worker,
  which waits as a claim does while the session is live, then claims in
  Redis, whose answer wins when it has the session.

Frames: ``len(4) op(1) header_len(4) header(JSON) body`` (big-endian). The
header holds the small arguments, the body the message bytes untouched.
Operations are answered in order (``R``) when they ask for it; messages are
pushed as ``M``. A ``PUBLISH`` marked ``"x"`` is not sent back to its sender
(the adapter marks the messages it would drop on their return: Redis must
echo them, the hub need not). The hub keeps no socket: the supervisor feeds it frames and
sends what it returns, so its logic is tested on bytes. The clock (wall
time, for the stream ids and expiries) is an argument.
"""

from __future__ import annotations

import json
import logging
import struct
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

__all__ = ["encode", "BusReader", "Hub", "Peer", "MAX_FRAME"]

log = logging.getLogger(__name__)

_LEN = struct.Struct("!I")
_OPHEAD = struct.Struct("!cI")
#: A frame larger than this is a bug or a corrupted stream: the connection is dropped.
#: Generous: a broadcast carries a whole Socket.IO payload (max_payload, 1 MB by default).
MAX_FRAME = 256 * 1024 * 1024
#: Longest wait of a claim for a session a draining worker has not saved yet
#: (below the recovery log's request_timeout, 5 s by default, and above the
#: workers' drain grace).
PARK_SECONDS = 3.0
#: Longest wait of a claim for a session still live on a worker that does not
#: drain: that worker saves it (or its end is noticed) within milliseconds
#: when the client's old connection is really gone; if it is not, the client
#: starts afresh after this wait, as it would have at once. Below
#: python-socketio's default wait for the CONNECT answer (1 s).
LIVE_PARK_SECONDS = 0.5

# Worker -> hub
SUBSCRIBE = b"S"
PUBLISH = b"P"
NUMSUB = b"N"
RECORD = b"X"
SAVE = b"V"
CLAIM = b"G"
LAST = b"L"
READY = b"Y"
LIVE = b"C"
ROOM = b"J"
GONE = b"D"
KEPT = b"K"
# Hub -> worker
REPLY = b"R"
MESSAGE = b"M"


def encode(op: bytes, header: dict[str, Any] | None = None, body: bytes = b"") -> bytes:
    """One frame."""
    head = json.dumps(header, separators=(",", ":")).encode() if header else b""
    return _LEN.pack(_OPHEAD.size + len(head) + len(body)) + _OPHEAD.pack(op, len(head)) + head + body


class BusFrameError(Exception):
    """The bytes on the bus are not frames: the peer is broken (a bug), drop it."""


class BusReader:
    """Splits a byte stream into ``(op, header, body)`` frames."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> Iterator[tuple[bytes, dict[str, Any], bytes]]:
        buf = self._buf
        buf += data
        pos = 0
        try:
            while len(buf) - pos >= _LEN.size:
                (size,) = _LEN.unpack_from(buf, pos)
                if size < _OPHEAD.size or size > MAX_FRAME:
                    raise BusFrameError(f"bad frame length {size}")
                if len(buf) - pos - _LEN.size < size:
                    break
                start = pos + _LEN.size
                op, head_len = _OPHEAD.unpack_from(buf, start)
                head_start = start + _OPHEAD.size
                body_start = head_start + head_len
                if body_start > start + size:
                    raise BusFrameError("header longer than its frame")
                header = json.loads(bytes(buf[head_start:body_start])) if head_len else {}
                body = bytes(buf[body_start : start + size])
                pos = start + size
                yield op, header, body
        finally:
            del buf[:pos]


@dataclass(eq=False)
class Peer:
    """One worker on the bus: what it subscribed to, and how to send it a frame."""

    send: Callable[[bytes], None]
    name: str = "?"
    channels: set[str] = field(default_factory=set)
    #: Its recoverable sockets now connected: sid -> what to save if it dies.
    live: dict[str, "_Live"] = field(default_factory=dict)


@dataclass(slots=True)
class _Live:
    """A connected socket of a worker, as the hub would save it: the worker's
    stored form (JSON), with its rooms kept up to date beside it."""

    key: str
    value: bytes
    rooms: set[str]
    window_ms: int


@dataclass(slots=True, eq=False)
class _Claim:
    """A claim waiting for a session that may still be saved (see :meth:`Hub.handle`).
    ``offset`` None: a ``KEPT`` claim (the session only)."""

    peer: Peer
    key: str
    offset: str | None
    q: Any
    since: float
    until: float
    #: The worker the session was live on when the claim arrived (None: waits for drains).
    owner: Peer | None


@dataclass(slots=True)
class _Entry:
    id: str
    key: tuple[int, int]
    message: bytes


class Hub:
    """Pub/sub and the shared recovery log for the workers (see the module note).

    ``clock()`` is wall time in seconds. ``on_ready(peer)`` is called when a
    worker says it serves.
    """

    def __init__(self, clock: Callable[[], float], on_ready: Callable[[Peer], None] | None = None) -> None:
        self.clock = clock
        self.on_ready = on_ready
        self.peers: list[Peer] = []
        self._subscribers: dict[str, list[Peer]] = {}
        self._stream: deque[_Entry] = deque()
        self._stream_bytes = 0
        self._last_key = (0, 0)
        self._sessions: dict[str, tuple[bytes, float]] = {}
        #: Messages relayed (each delivery to each subscriber counts one).
        self.delivered = 0
        #: Live sessions of workers that ended without saving them, saved by the hub.
        self.kept = 0
        #: Workers draining (told by the supervisor): their sessions are being saved.
        self.draining: set[Peer] = set()
        #: The key of every live session -> the worker it is live on.
        self._live_keys: dict[str, Peer] = {}
        #: Claims of a session not saved (yet) while it is live or a worker drains.
        self._parked: list[_Claim] = []
        #: Claims that arrived while their session was live on a worker and got it later.
        self.waited = 0

    # ------------------------------------------------------------- peers

    def connect(self, peer: Peer) -> None:
        self.peers.append(peer)

    def drain_started(self, peer: Peer) -> None:
        """``peer`` is draining: claims of sessions it may still save wait for it (see :meth:`handle`)."""
        self.draining.add(peer)

    def disconnect(self, peer: Peer) -> int:
        """A worker left (exited or died): it is nobody's subscriber any more, and
        its live sessions become saved sessions; returns how many (0 when it said goodbye)."""
        self._parked = [c for c in self._parked if c.peer is not peer]
        kept = self._keep_live(peer)
        self.draining.discard(peer)
        self._settle(None)  # what waited for it (and, when no other drains, for drains) is answered
        if peer in self.peers:
            self.peers.remove(peer)
        for channel in peer.channels:
            subscribers = self._subscribers.get(channel)
            if subscribers is not None and peer in subscribers:
                subscribers.remove(peer)
                if not subscribers:
                    del self._subscribers[channel]
        peer.channels.clear()
        return kept

    def _keep_live(self, peer: Peer) -> int:
        """Save what ``peer`` still had connected (it can no longer save it)."""
        live, peer.live = peer.live, {}
        now = self.clock()
        kept = 0
        for session in live.values():
            if self._live_keys.get(session.key) is peer:
                del self._live_keys[session.key]
            if session.key in self._sessions:
                continue  # saved by the worker itself (a drain cut short)
            try:
                value = json.loads(session.value)
                value["rooms"] = sorted(session.rooms)
            except (ValueError, TypeError):
                continue  # never: the worker wrote it
            encoded = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
            self._sessions[session.key] = (encoded, now + session.window_ms / 1000)
            kept += 1
        self.kept += kept
        return kept

    def _park(self, peer: Peer, key: str, offset: str | None, q: Any) -> bool:
        """Hold a claim of ``key`` if its session may still be saved: it is live on a
        worker, or (a full claim) a worker drains. Whether it was held."""
        owner = self._live_keys.get(key)
        if key in self._sessions or (owner is None and (offset is None or not self.draining)):
            return False
        now = self.clock()
        wait = PARK_SECONDS if self.draining else LIVE_PARK_SECONDS
        self._parked.append(_Claim(peer, key, offset, q, now, now + wait, owner))
        return True

    def _settle(self, key: str | None) -> None:
        """Answer the held claims (of ``key``, or all) whose session cannot be saved any more
        or was: it is saved, or live nowhere (and, a full claim, no worker drains)."""
        for claim in [c for c in self._parked if key is None or c.key == key]:
            if claim.key in self._sessions or (
                claim.key not in self._live_keys and (claim.offset is None or not self.draining)
            ):
                self._answer(claim)

    # ------------------------------------------------------------ frames

    def handle(self, peer: Peer, op: bytes, header: dict[str, Any], body: bytes) -> None:
        """One frame from ``peer``; replies and messages go out through the peers' ``send``.

        A reply carries the request's id (``q``), so a reply that waits (a
        parked claim) cannot be mistaken for another.
        """
        q = header.get("q")
        if op == PUBLISH:
            # "x": the sender would drop its own copy (a plain broadcast of the
            # adapter's): it is not sent back; the count is the same either way.
            count = self.publish(str(header["ch"]), body, peer if header.get("x") else None)
            if q is not None:
                peer.send(encode(REPLY, {"q": q, "v": count}))
        elif op == SUBSCRIBE:
            for channel in header["chs"]:
                if channel not in peer.channels:
                    peer.channels.add(channel)
                    self._subscribers.setdefault(channel, []).append(peer)
            peer.send(encode(REPLY, {"q": q, "v": True}))
        elif op == NUMSUB:
            peer.send(encode(REPLY, {"q": q, "v": len(self._subscribers.get(str(header["ch"]), ()))}))
        elif op == RECORD:
            offset = self.record(str(header["ch"]), body, int(header["mp"]), int(header["mb"]),
                                 int(header["w"]))
            peer.send(encode(REPLY, {"q": q, "v": offset}))
        elif op == SAVE:
            key = str(header["k"])
            self._sessions[key] = (body, self.clock() + int(header["w"]) / 1000)
            self._settle(key)
        elif op == CLAIM:
            # The session may be saved any moment now (its worker drains or noticed
            # the client's old connection end later than the client did, or died).
            key, offset = str(header["k"]), str(header["o"])
            if not self._park(peer, key, offset, q):
                peer.send(encode(REPLY, {"q": q, "v": self.claim(key, offset)}))
        elif op == KEPT:
            key = str(header["k"])
            if not self._park(peer, key, None, q):
                peer.send(encode(REPLY, {"q": q, "v": self.take(key)}))
        elif op == LAST:
            last = [[self._stream[-1].id]] if self._stream else []
            peer.send(encode(REPLY, {"q": q, "v": last}))
        elif op == ROOM:
            session = peer.live.get(header["s"])
            if session is not None:
                if header["j"]:
                    session.rooms.add(str(header["r"]))
                else:
                    session.rooms.discard(str(header["r"]))
        elif op == LIVE:
            key = str(header["k"])
            old = peer.live.get(str(header["s"]))
            if old is not None and old.key != key and self._live_keys.get(old.key) is peer:
                del self._live_keys[old.key]
            peer.live[str(header["s"])] = _Live(key, body, {str(r) for r in header["r"]}, int(header["w"]))
            self._live_keys[key] = peer
        elif op == GONE:
            gone = peer.live.pop(header["s"], None)
            if gone is not None:
                if self._live_keys.get(gone.key) is peer:
                    del self._live_keys[gone.key]
                self._settle(gone.key)
        elif op == READY:
            peer.name = str(header.get("name", peer.name))
            if self.on_ready is not None:
                self.on_ready(peer)
        else:
            raise BusFrameError(f"unknown operation {op!r}")

    def publish(self, channel: str, payload: bytes, skip: Peer | None = None) -> int:
        """Send ``payload`` to the channel's subscribers (but ``skip``); how many are subscribed."""
        subscribers = self._subscribers.get(channel, ())
        if subscribers:
            frame = encode(MESSAGE, {"ch": channel}, payload)
            for subscriber in list(subscribers):
                if subscriber is not skip:
                    subscriber.send(frame)
                    self.delivered += 1
        return len(subscribers)

    # ----------------------------------------------------- recovery log

    def record(self, channel: str, message: bytes, max_packets: int, max_bytes: int, window_ms: int) -> str:
        """Append ``message`` (a JSON object) to the stream, trim, publish it with its offset."""
        now_ms = int(self.clock() * 1000)
        last_ms, last_seq = self._last_key
        key = (now_ms, 0) if now_ms > last_ms else (last_ms, last_seq + 1)
        self._last_key = key
        entry = _Entry(f"{key[0]}-{key[1]}", key, message)
        self._stream.append(entry)
        self._stream_bytes += len(message)
        horizon = now_ms - window_ms
        stream = self._stream
        while stream and (len(stream) > max_packets or self._stream_bytes > max_bytes
                          or stream[0].key[0] < horizon):
            self._stream_bytes -= len(stream.popleft().message)
        self.publish(channel, message[:-1] + b',"offset":"' + entry.id.encode() + b'"}')
        return entry.id

    def claim(self, key: str, offset: str) -> list[Any]:
        """``[session or None, [[id, message], ...]]``: the saved session (removed: one
        claim wins) and the stream from ``offset`` on, ``offset`` included."""
        saved = self._sessions.pop(key, None)
        if saved is not None and saved[1] <= self.clock():
            saved = None  # expired
        start = _parse_id(offset)
        entries: list[list[str]] = []
        if saved is not None and start is not None:
            entries = [[e.id, e.message.decode("utf-8")] for e in self._stream if e.key >= start]
        return [saved[0].decode("utf-8") if saved is not None else None, entries]

    def take(self, key: str) -> str | None:
        """The saved session under ``key`` (removed: one claim wins), or None."""
        saved = self._sessions.pop(key, None)
        if saved is None or saved[1] <= self.clock():
            return None
        return saved[0].decode("utf-8")

    def _answer(self, claim: _Claim) -> None:
        self._parked.remove(claim)
        value: Any
        if claim.offset is None:
            value = self.take(claim.key)
            found = value is not None
        else:
            value = self.claim(claim.key, claim.offset)
            found = value[0] is not None
        claim.peer.send(encode(REPLY, {"q": claim.q, "v": value}))
        if found and claim.owner is not None:
            # Without the wait, this client would have started afresh.
            self.waited += 1
            log.info("supervisor: a client reconnected before its session left %s; its claim "
                     "waited %.0f ms for it", claim.owner.name, (self.clock() - claim.since) * 1000)

    def answer_late_claims(self) -> float | None:
        """Answer the parked claims whose wait is over; when the next one is due (None: none)."""
        now = self.clock()
        for claim in [c for c in self._parked if c.until <= now]:
            self._answer(claim)
        return min((c.until for c in self._parked), default=None)

    def sweep(self) -> None:
        """Forget expired saved sessions (the supervisor calls it now and then)."""
        now = self.clock()
        for stale in [k for k, (_, expires) in self._sessions.items() if expires <= now]:
            del self._sessions[stale]


def _parse_id(value: str) -> tuple[int, int] | None:
    ms, dash, seq = value.partition("-")
    if not dash or not ms.isdigit() or not seq.isdigit():
        return None
    return int(ms), int(seq)
