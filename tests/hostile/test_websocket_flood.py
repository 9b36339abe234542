"""One WebSocket flooding events, plain and over TLS, and compressed bombs in parallel.

A flooding client writes small event frames as fast as its socket takes
them. Two things are checked while it does:

- how many of its events the server handles in one loop turn (a prepare
  watcher in the server's hub closes each turn's count): at most about
  ``TURN_MESSAGES``; before the budget a plain read handed over ~700 (one
  16 KB read of 21-byte frames) and a TLS reader greenlet never yielded;
- a normal client's connect + echo (plain, or over TLS) meanwhile, with a
  generous bound. Over TLS the old reader greenlet kept the hub until the
  flood stopped, so the normal client waited the whole flood out.

Then twenty permessage-deflate bombs at once: each is closed 1009 and the
process's peak RSS barely moves (each stops inflating at ``max_payload``).
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
import time
import zlib
from pathlib import Path
from typing import Any, Iterator

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Request
from wsproto.extensions import PerMessageDeflate

from transports.gevent._websocket import TURN_MESSAGES

from ._harness import ServerThread, SioWs, frame

pytestmark = pytest.mark.timeout(90)

#: How long a flood lasts at most; the normal client must be served well before.
FLOOD_SECONDS = 6.0
#: Generous: a normal client's connect + echo takes milliseconds when it gets turns.
SERVED_WITHIN = 2.0
FLOOD_EVENT = frame(0x1, b'42["flood",1]')


class TurnProbe:
    """Counts the ``flood`` events handled in each loop turn of the server's hub."""

    def __init__(self, server: ServerThread) -> None:
        self.count = 0
        self.worst = 0
        self.turns = 0
        self.events = 0
        assert server.sio is not None
        server.sio.on("flood")(self._flood)
        self._watcher: Any = server.call(self._install(server))

    def _install(self, server: ServerThread) -> Any:
        def install() -> Any:
            watcher = server._hub.loop.prepare()
            watcher.start(self._turn)
            return watcher

        return install

    def _flood(self, sid: str, *args: Any) -> None:
        self.count += 1
        self.events += 1

    def _turn(self) -> None:
        self.worst = max(self.worst, self.count)
        self.count = 0
        self.turns += 1

    def stop(self, server: ServerThread) -> None:
        server.call(self._watcher.stop)


def flood(client: SioWs, stop: threading.Event) -> None:
    """Write flood events until ``stop`` (or the server drops the client)."""
    chunk = FLOOD_EVENT * 1000
    deadline = time.monotonic() + FLOOD_SECONDS
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            client.ws.sock.sendall(chunk)
    except OSError:
        pass


def run_flood(server: ServerThread, ssl_context: ssl.SSLContext | None) -> None:
    probe = TurnProbe(server)
    attacker = SioWs(server.port, ssl_context=ssl_context)
    attacker.connect()
    stop = threading.Event()
    thread = threading.Thread(target=flood, args=(attacker, stop), daemon=True)
    started = time.monotonic()
    thread.start()
    try:
        # The normal client comes once the flood is being handled (about 20
        # turns' worth); the clock runs from the flood's start, so a server
        # that only serves others once the flood ends is caught either way.
        deadline = started + FLOOD_SECONDS
        while probe.events < 20 * TURN_MESSAGES and time.monotonic() < deadline:
            time.sleep(0.01)
        with SioWs(server.port, ssl_context=ssl_context) as normal:
            normal.connect()
            normal.echo("served meanwhile")
        took = time.monotonic() - started
        flooding = thread.is_alive()
    finally:
        stop.set()
        thread.join(10)
        attacker.close()
        probe.stop(server)
    assert took < SERVED_WITHIN, f"a normal client waited {took:.2f} s behind one flooding WebSocket"
    assert flooding, "the flood ended before the normal client was served: the check proves nothing"
    # The budget, counted and not timed: events taken from the flooding socket per loop turn.
    assert probe.worst <= 2 * TURN_MESSAGES, (probe.worst, probe.turns, probe.events)
    server.wait_idle(10)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    folder: Path = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1"],
        check=True, capture_output=True,
    )
    return str(cert), str(key)


def _quiet_server(**options: Any) -> ServerThread:
    # Long heartbeats: the flooding client writes without reading, so it answers no ping.
    return ServerThread(ping_interval=25, ping_timeout=20, **options).start()


@pytest.fixture(scope="module")
def plain_server() -> Iterator[ServerThread]:
    server = _quiet_server(websocket_compression=True, max_payload=1_000_000)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tls_server(tls_files: tuple[str, str]) -> Iterator[ServerThread]:
    cert, key = tls_files
    server = _quiet_server(start_options={"certfile": cert, "keyfile": key})
    yield server
    server.stop()


def _checked(server: ServerThread) -> None:
    assert not server.greenlet_errors, server.greenlet_errors
    assert not server.log.records, "\n\n".join(server.log.records)


def test_a_flooding_websocket_does_not_hold_up_others(plain_server: ServerThread) -> None:
    run_flood(plain_server, None)
    _checked(plain_server)


def test_a_flooding_tls_websocket_does_not_hold_up_others(tls_server: ServerThread) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    run_flood(tls_server, context)
    _checked(tls_server)


# ------------------------------------------------------------------ bombs


def _rss_peak_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def _reset_rss_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS


def _bomb(port: int, payload: bytes) -> int | None:
    """Offer permessage-deflate, send one compressed message; the close code the server answers."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    conn = WSConnection(ConnectionType.CLIENT)
    try:
        sock.sendall(conn.send(Request(
            host="127.0.0.1", target="/socket.io/?EIO=4&transport=websocket",
            extensions=[PerMessageDeflate()],
        )))
        accepted = False
        while not accepted:
            data = sock.recv(65536)
            assert data, "closed during the handshake"
            conn.receive_data(data)
            accepted = any(isinstance(e, AcceptConnection) for e in conn.events())
        sock.sendall(frame(0x1, payload, rsv=0b100))
        while True:
            data = sock.recv(65536)
            if not data:
                return None
            conn.receive_data(data)
            for event in conn.events():
                if isinstance(event, CloseConnection):
                    return event.code
    finally:
        sock.close()


def test_twenty_parallel_bombs_close_1009_and_memory_stays_flat(plain_server: ServerThread) -> None:
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    # 200 MB of one byte: about 200 KB compressed, under max_payload, so only inflating can refuse it.
    body = deflater.compress(b"4" * 200_000_000) + deflater.flush(zlib.Z_SYNC_FLUSH)
    payload = body[:-4]
    assert len(payload) < 1_000_000
    assert _bomb(plain_server.port, payload) == 1009  # warms the allocator up
    _reset_rss_peak()
    before = _rss_peak_kb()
    results: list[int | None] = []
    threads = [threading.Thread(target=lambda: results.append(_bomb(plain_server.port, payload)))
               for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    grew_mb = (_rss_peak_kb() - before) / 1024
    assert results == [1009] * 20, results
    # Each bomb inflates to at most max_payload (1 MB) + 1 byte, one at a time in the hub;
    # without the limit each would reach 200 MB.
    assert grew_mb < 40, f"peak RSS grew {grew_mb:.1f} MB under 20 bombs"
    plain_server.wait_idle(10)
    _checked(plain_server)
