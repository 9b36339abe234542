"""The Redis connections of a RedisAdapter: two threads that keep them alive.

Strategy (threads, not the loop's sockets). redis-py's blocking sockets
would stall the server's loop (the gevent hub, which is not monkey-patched by
default, or the asyncio loop), and a Redis that hangs would hang every
client. :class:`RedisLink` therefore does all Redis I/O on two threads of its
own and only hands results over, the same way to either driver:

* the *subscriber* thread blocks in ``get_message`` on a dedicated pub/sub
  connection and gives each message to ``on_message`` (on that thread);
* the *publisher* thread runs queued commands (``PUBLISH``, ``PUBSUB
  NUMSUB``) in order on its own connection and hands each result to
  ``to_hub(done, result)`` (the server's ``runtime.call_soon_threadsafe``).

If a gevent process *is* monkey-patched, the same code works unchanged: the
"threads" are greenlets and redis-py's sockets cooperative. (Making redis-py
use gevent sockets instead would depend on its internals, which change
between versions.)

Failures: each thread reconnects by itself with exponential backoff and logs
one line per change of state (down, up again), never one per attempt. While
publishing fails, commands are dropped at once instead of queueing behind a
dead connection (their ``done`` gets None). The subscriber PINGs after
``liveness_interval`` seconds of silence and replaces a connection that does
not answer: a Redis host that vanished without closing TCP is noticed in
seconds, not when keepalive gives up.
"""

from __future__ import annotations

import logging
import queue
import threading
from time import monotonic
from typing import Any, Callable
from urllib.parse import urlsplit, urlunsplit

try:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    _MISSING: ImportError | None = None
except ImportError as _exc:  # pragma: no cover - depends on the environment
    # Only this link needs redis-py: the adapter's cluster logic also runs
    # over the workers' bus (socketio_core.cluster), which does not.
    _MISSING = _exc

__all__ = ["RedisLink", "redact", "Done", "Command", "REDIS_ERRORS", "require_redis"]


def require_redis() -> None:
    """Raises ImportError (saying what to install) when redis-py is missing."""
    if _MISSING is not None:
        raise ImportError("RedisAdapter needs redis-py: pip install 'socketio-core[redis]'") from _MISSING

log = logging.getLogger(__name__)

#: How often the subscriber looks up from the socket (to notice close()).
_POLL = 0.2

#: Errors that mean "Redis is unreachable or misbehaving", as opposed to our bugs.
REDIS_ERRORS: tuple[type[BaseException], ...] = (
    (redis.RedisError, OSError) if _MISSING is None else (OSError,)
)

Done = Callable[[Any], None]
#: A command for the publisher thread, run with its ``redis.Redis`` client.
Command = Callable[["redis.Redis"], Any]


def redact(url: str) -> str:
    """The URL with its password replaced, for log lines."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<redis url>"
    if password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{netloc}"))


class _Backoff:
    """Exponential backoff between reconnection attempts, with a cap."""

    def __init__(self, first: float, cap: float) -> None:
        self.first = first
        self.cap = cap
        self.delay = first

    def next(self) -> float:
        delay = self.delay
        self.delay = min(self.delay * 2, self.cap)
        return delay

    def reset(self) -> None:
        self.delay = self.first


class RedisLink:
    """A subscription to ``channels`` and an ordered command queue, on two threads.

    ``on_message(raw)`` runs on the subscriber thread for every message;
    ``to_hub(fn, *args)`` must run ``fn(*args)`` on the thread that calls
    :meth:`run` (the server's loop). ``describe`` completes the "subscribed" log line.
    """

    def __init__(
        self,
        url: str,
        channels: tuple[str, ...],
        *,
        on_message: Callable[[bytes], None],
        to_hub: Callable[..., None],
        backoff_min: float,
        backoff_max: float,
        redis_options: dict[str, Any],
        liveness_interval: float,
        max_pending: int,
        describe: str = "",
    ) -> None:
        self.url = url
        self.channels = channels
        self.on_message = on_message
        self.to_hub = to_hub
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.redis_options = redis_options
        self.liveness_interval = liveness_interval
        self.max_pending = max_pending
        self.describe = describe
        self.closed = False
        #: Set while the subscription is confirmed.
        self.subscribed = threading.Event()
        #: Set after the first subscription attempt, whatever its outcome.
        self.first_attempt = threading.Event()
        self._stop = threading.Event()  # also what the threads sleep on between attempts
        self._jobs: queue.SimpleQueue[tuple[Command, Done | None] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._sub_state = "starting"  # then "up" / "down"
        self._was_up = False
        self._sub_backoff = _Backoff(backoff_min, backoff_max)
        self._overflowing = False

    def start(self, name: str) -> None:
        for role, target in (("subscriber", self._subscribe_loop), ("publisher", self._publish_loop)):
            thread = threading.Thread(target=target, name=f"redis-{role}-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self) -> None:
        """Stop both threads; waits up to a second for the subscriber to unsubscribe."""
        if self.closed:
            return
        self.closed = True
        self._stop.set()
        self._jobs.put(None)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(1.0)

    def _client(self) -> "redis.Redis":
        options: dict[str, Any] = {
            "socket_connect_timeout": 2.0,
            "socket_timeout": 5.0,
            "socket_keepalive": True,
            # These threads own reconnection (with backoff and logging); redis-py's
            # own retries would hide outages and hold the publisher up.
            "retry": Retry(NoBackoff(), 0),
        }
        options.update(self.redis_options)
        return redis.Redis.from_url(self.url, **options)

    # ------------------------------------------------------------ publishing

    def run(self, command: Command, done: Done | None = None) -> None:
        """Queue ``command`` (in order); ``done(result)``, or ``done(None)`` if it failed
        or was dropped, is handed to the loop. Call on the loop's thread."""
        pending = self._jobs.qsize()
        if self.closed or pending >= self.max_pending:
            if not self.closed and not self._overflowing:
                self._overflowing = True
                log.warning("redis is not keeping up (%d messages waiting): dropping messages "
                            "to other servers", pending)
            if done is not None:
                done(None)
            return
        if self._overflowing and pending < self.max_pending // 2:
            self._overflowing = False
            log.info("redis is keeping up again")
        self._jobs.put((command, done))

    def _publish_loop(self) -> None:
        client = self._client()
        backoff = _Backoff(self.backoff_min, self.backoff_max)
        retry_at = 0.0
        down = False
        dropped = 0
        while True:
            job = self._jobs.get()
            if job is None:
                break
            command, done = job
            result: Any = None
            if monotonic() < retry_at:
                dropped += 1  # Redis failed a moment ago: don't stall the queue on it
            else:
                try:
                    result = command(client)
                except REDIS_ERRORS as exc:
                    dropped += 1
                    retry_at = monotonic() + backoff.next()
                    if not down:
                        down = True
                        log.warning(
                            "publishing to redis at %s failed: %s; messages to other servers "
                            "are dropped until it answers (local delivery continues)",
                            redact(self.url), exc,
                        )
                except Exception:  # our bug, not Redis's: keep the thread alive
                    log.exception("redis publisher: a command failed")
                else:
                    backoff.reset()
                    retry_at = 0.0
                    if down:
                        down = False
                        log.info("publishing to redis again (%d messages dropped meanwhile)", dropped)
                        dropped = 0
            if done is not None:
                self.to_hub(done, result)
        client.close()

    # ----------------------------------------------------------- subscribing

    def _subscribe_loop(self) -> None:
        while not self.closed:
            pubsub = None
            try:
                client: Any = self._client()
                pubsub = client.pubsub()
                pubsub.subscribe(*self.channels)
                self._listen(pubsub)
            except Exception as exc:
                self.subscribed.clear()
                if not isinstance(exc, REDIS_ERRORS):
                    log.exception("redis subscriber failed; restarting it")
                elif self._sub_state == "up":
                    log.warning(
                        "lost the subscription to redis at %s: %s; messages from other servers "
                        "are missed until it is back (retrying with backoff)", redact(self.url), exc,
                    )
                elif self._sub_state == "starting":
                    log.warning("cannot subscribe to redis at %s: %s; serving local clients only "
                                "until it answers (retrying with backoff)", redact(self.url), exc)
                self._sub_state = "down"
                self.first_attempt.set()
            finally:
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except Exception:
                        pass
            self._stop.wait(self._sub_backoff.next())

    def _listen(self, pubsub: Any) -> None:
        """Hand over messages until closed; raises on connection errors."""
        confirmations = 0
        last_heard = monotonic()
        pinged = False
        quiet = self.liveness_interval
        while not self.closed:
            message = pubsub.get_message(timeout=_POLL)
            now = monotonic()
            if message is None:
                if now - last_heard > 3 * quiet:
                    raise redis.ConnectionError("no answer to PING from redis")
                if now - last_heard > quiet and not pinged and confirmations >= len(self.channels):
                    pubsub.ping()
                    pinged = True
                continue
            last_heard = now
            pinged = False
            kind = message.get("type")
            if kind == "message":
                self.on_message(message["data"])
            elif kind == "subscribe":
                confirmations += 1
                if confirmations == len(self.channels):
                    if self._was_up:
                        log.info("subscribed to redis at %s again", redact(self.url))
                    else:
                        log.info("subscribed to redis at %s (%s)", redact(self.url), self.describe)
                    self._sub_state = "up"
                    self._was_up = True
                    self._sub_backoff.reset()
                    self.subscribed.set()
                    self.first_attempt.set()
