"""Garbage Engine.IO and Socket.IO packets, attachment bombs, deep JSON, concurrent polls.

Over WebSocket and over long-polling. A broken packet closes the offending
session (only it); input that is odd but legal is served.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import pytest

from tests.integration._wsclient import WsClosed

from ._harness import MAX_PAYLOAD, PATH, ServerThread, SioWs

pytestmark = pytest.mark.timeout(30)

DEPTH = 10_000


def joined(server: ServerThread) -> SioWs:
    client = SioWs(server.port)
    client.connect()
    return client


def closed(client: SioWs, timeout: float = 5.0) -> bool:
    """True once the server closed the WebSocket (messages before that are dropped)."""
    try:
        client.ws.wait_closed(timeout)
    except TimeoutError:
        return False
    return True


def still_open(client: SioWs) -> bool:
    try:
        client.echo("still here")
    except WsClosed:
        return False
    return True


def placeholder(num: Any) -> str:
    return json.dumps({"_placeholder": True, "num": num}, separators=(",", ":"))


# ----------------------------------------------------------- Engine.IO garbage


@pytest.mark.parametrize("message", [
    "", "x", "9", "7probe", "\x00", "\u0660", "2", "2probe", "bAQID",
], ids=["empty", "letter", "nine", "seven", "nul", "arabic-zero", "client-ping", "probe", "b64"])
def test_engineio_garbage_over_websocket_closes_the_session(server: ServerThread, message: str) -> None:
    with joined(server) as client:
        client.send(message)
        assert closed(client)


@pytest.mark.parametrize("message", ["0", "0{}", "5", "6", "3", "3probe"],
                         ids=["open", "open-json", "upgrade", "noop", "pong", "pong-probe"])
def test_engineio_meaningless_packets_over_websocket_are_ignored(
    server: ServerThread, message: str
) -> None:
    with joined(server) as client:
        client.send(message)
        assert still_open(client)


@pytest.mark.parametrize("body", [
    b"", b"x", b"9", b"\x1e", b"4\x1e", b"40\x1e\x1e", b"\xff\xfe", b"b!!!", b"b" + b"A" * 3,
    b"2", b"40\x1ebAQID", b"1",
], ids=["empty", "letter", "nine", "separator", "trailing-separator", "double-separator",
        "not-utf8", "bad-base64", "short-base64", "client-ping", "binary-unexpected", "close"])
def test_engineio_garbage_over_polling_ends_the_session(server: ServerThread, body: bytes) -> None:
    eio = server.eio()
    sid, _ = eio.handshake()
    eio.post(sid, body)
    deadline = time.monotonic() + 5
    while True:
        resp = eio.poll(sid, timeout=5)
        if resp.status == 400:
            break
        assert time.monotonic() < deadline, resp
    assert resp.json()["code"] == 1


# ----------------------------------------------------------- Socket.IO garbage


SIO_GARBAGE = [
    "4", "4x", "49", "47", "42", "42{}", "42[]", '42"echo"', '42["connect"]', '42["disconnect"]',
    "42[true]", "42[null]", '42abc["echo"]', '42["echo"', '42["echo"]]', "43[]", '43["x"]',
    "40", '44{"message":"x"}', '42/unjoined,["echo"]', "41/unjoined,", '42-1["echo"]',
    "42" + "9" * 16 + '["echo"]', '42["echo",NaN]', '42["echo",Infinity]', '42["echo",' + "1" * 5000 + "]",
    '41["x"]', "41" + "1", '40["array auth"]', "40/custom,[1]", "40/custom,1{}",
    '45-["echo"]', '451["echo"]', "45x-[\"echo\"]", '4-1-["echo"]',
]


@pytest.mark.parametrize("packet", SIO_GARBAGE)
def test_socketio_garbage_over_websocket_closes_the_session(server: ServerThread, packet: str) -> None:
    with joined(server) as client:
        client.send(packet)
        assert closed(client)


@pytest.mark.parametrize(("packet", "reply"), [
    # Infinity after parsing: echoed as null, like JSON.stringify.
    ('42["echo",1e99999]', '42["echo",null]'),
    ('42["echo","\\ud800"]', '42["echo","\\ud800"]'),  # a lone surrogate, echoed escaped
    ('42["echo"," [[[[[[[[[[ "]', None),
    ('42["echo",' + json.dumps("[" * 5000 + '\\"' + "{" * 5000) + "]", None),
    ('42 ["echo"]', '42["echo"]'),  # whitespace around the JSON, as JSON.parse allows
    ('42["echo"]\n', '42["echo"]'),
    ("42[1,2,3]", ""),  # a numeric event name: no handler, no answer
    ('42["no such event"]', ""),
    ("43999[]", ""),  # an ack for an id never issued
], ids=["infinity", "lone-surrogate", "brackets-in-string", "deep-looking-string", "space",
        "newline", "numeric-name", "unknown-event", "unknown-ack"])
def test_odd_but_legal_socketio_packets(server: ServerThread, packet: str, reply: str | None) -> None:
    with joined(server) as client:
        client.send(packet)
        if reply != "":
            assert client.recv() == (packet if reply is None else reply)
        assert still_open(client)


def test_infinity_and_surrogates_are_echoed_as_json_stringify_would(server: ServerThread) -> None:
    with joined(server) as client:
        client.send('42["echo",1e99999,-1e99999,"\\ud800x"]')
        assert client.recv() == '42["echo",null,null,"\\ud800x"]'


@pytest.mark.parametrize("body", [
    "42{}", '42["echo"', "4x", '42/nowhere,["echo"]', '451-["echo",' + placeholder(3) + "]\x1ebAQID",
])
def test_socketio_garbage_over_polling_ends_the_session(server: ServerThread, body: str) -> None:
    eio = server.eio()
    sid, _ = eio.handshake()
    assert eio.post(sid, "40").body == b"ok"
    eio.post(sid, body)
    deadline = time.monotonic() + 5
    while True:
        resp = eio.poll(sid, timeout=5)
        if resp.status == 400:
            break
        assert time.monotonic() < deadline, resp
        if resp.body.endswith(b"\x1e1") or resp.body == b"1":
            continue  # the close packet; the next poll must be refused
    assert resp.json()["code"] == 1


# ------------------------------------------------------------ attachment bombs


@pytest.mark.parametrize("head", [
    "451000000-", "45999999999-", "45" + "9" * 200 + "-", "4511-", "450-", "45-1-",
])
def test_attachment_count_bombs(server: ServerThread, head: str) -> None:
    with joined(server) as client:
        client.send(head + '["echo",' + placeholder(0) + "]")
        assert closed(client)


@pytest.mark.parametrize("num", [1, 2, -1, 10**30, "0", 0.0, None, True, [0]])
def test_placeholders_pointing_outside(server: ServerThread, num: Any) -> None:
    with joined(server) as client:
        client.send('451-["echo",' + placeholder(num) + "]")
        assert closed(client)


def test_text_while_attachments_are_pending(server: ServerThread) -> None:
    with joined(server) as client:
        client.send('452-["echo",' + placeholder(0) + "," + placeholder(1) + "]")
        client.send(b"only one")
        client.send('42["echo","too early"]')
        assert closed(client)


def test_binary_with_no_packet_pending(server: ServerThread) -> None:
    with joined(server) as client:
        client.send(b"\x00" * 1000)
        assert closed(client)


def test_attachments_announced_but_never_sent_then_gone(server: ServerThread) -> None:
    client = joined(server)
    client.send('4510-["echo",' + ",".join(placeholder(i) for i in range(10)) + "]")
    for _ in range(5):
        client.send(b"x" * MAX_PAYLOAD)
    client.close()


def test_maximum_attachments_of_maximum_size_are_echoed(server: ServerThread) -> None:
    with joined(server) as client:
        # 10 x 90 KB: the whole echo fits under max_buffer_bytes (1 MB here).
        blobs = [bytes([i]) * 90_000 for i in range(10)]
        client.send('4510-["echo",' + ",".join(placeholder(i) for i in range(10)) + "]")
        for blob in blobs:
            client.send(blob)
        head = client.recv(10)
        assert head == '4510-["echo",' + ",".join(placeholder(i) for i in range(10)) + "]"
        assert [client.recv(10) for _ in blobs] == blobs


def test_one_attachment_referenced_thousands_of_times(server: ServerThread) -> None:
    # Echoing it sends every reference as its own attachment: 3,000 x 20 KB
    # = 60 MB of output for 110 KB of input. The outgoing-buffer bound must
    # drop this client ("slow consumer") rather than the server's memory.
    refs = ",".join([placeholder(0)] * 3_000)
    with joined(server) as client:
        client.send('451-["echo",' + refs + "]")
        client.send(b"B" * 20_000)
        assert closed(client, timeout=10)
    deadline = time.monotonic() + 5
    while not server.disconnects:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert server.reasons() == ["slow consumer"]


# --------------------------------------------------------------------- deep JSON


@pytest.mark.parametrize("payload", [
    '42["echo",' + "[" * DEPTH + "]" * DEPTH + "]",
    '42["echo",' + '{"a":' * DEPTH + "1" + "}" * DEPTH + "]",
    '42["echo",' + "[" * DEPTH + "]",  # unbalanced
    '42["echo",' + '[{"a":' * (DEPTH // 2) + "0" + "}]" * (DEPTH // 2) + "]",
    "40" + '{"a":' * DEPTH + "1" + "}" * DEPTH,
    "42" + "[" * (MAX_PAYLOAD - 2),
], ids=["arrays", "objects", "unbalanced", "mixed", "connect-auth", "max-payload-of-brackets"])
def test_deep_json_over_websocket(server: ServerThread, payload: str) -> None:
    client = SioWs(server.port)
    with client:
        if not payload.startswith("40"):
            client.connect()
        client.send(payload)
        assert closed(client)


def test_deep_json_over_polling(server: ServerThread) -> None:
    eio = server.eio()
    sid, _ = eio.handshake()
    assert eio.post(sid, "40").body == b"ok"
    eio.post(sid, '42["echo",' + "[" * DEPTH + "]" * DEPTH + "]")
    deadline = time.monotonic() + 5
    while eio.poll(sid, timeout=5).status != 400:
        assert time.monotonic() < deadline


def test_depth_at_the_limit_is_accepted(server: ServerThread) -> None:
    with joined(server) as client:
        nested = "[" * 30 + "]" * 30  # + the outer array and the args: 31 levels
        client.send('42["echo",' + nested + "]")
        assert client.recv() == '42["echo",' + nested + "]"


# -------------------------------------------------------------- concurrent polls


def test_concurrent_gets_on_one_sid(server: ServerThread) -> None:
    eio = server.eio()
    sid, _ = eio.handshake()
    results: list[int] = []
    lock = threading.Lock()

    def poll() -> None:
        try:
            status = eio.poll(sid, timeout=5).status
        except OSError:
            status = -1
        with lock:
            results.append(status)

    threads = [threading.Thread(target=poll) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert 400 in results
    assert eio.poll(sid).status == 400  # the session is closed


def test_concurrent_posts_on_one_sid(server: ServerThread) -> None:
    eio = server.eio()
    sid, _ = eio.handshake()
    assert eio.post(sid, "40").body == b"ok"
    statuses: list[int] = []

    def post(i: int) -> None:
        try:
            statuses.append(eio.post(sid, "\x1e".join([f'42["echo",{i}]'] * 200)).status)
        except OSError:
            statuses.append(-1)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert all(s in (200, 400, -1) for s in statuses), statuses


def test_get_and_post_interleaved_from_many_threads(server: ServerThread) -> None:
    eio = server.eio()
    sid, _ = eio.handshake()
    assert eio.post(sid, "40").body == b"ok"
    stop = time.monotonic() + 1.0

    def hammer(kind: str) -> None:
        while time.monotonic() < stop:
            try:
                if kind == "get":
                    eio.poll(sid, timeout=2)
                else:
                    eio.post(sid, '42["echo","x"]')
            except OSError:
                pass

    threads = [threading.Thread(target=hammer, args=(k,)) for k in ("get", "get", "post", "post")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    eio.post(sid, "1")


def test_poll_for_a_websocket_session_is_refused(server: ServerThread) -> None:
    with joined(server) as client:
        sid = client.open["sid"]
        eio = server.eio()
        assert eio.poll(sid).status == 400
        assert eio.post(sid, '42["echo","x"]').status == 400
        assert still_open(client)


def test_unknown_and_hostile_sids(server: ServerThread) -> None:
    eio = server.eio()
    for sid in ["", "x" * 5000, "%00", "../../etc/passwd", "a&sid=b", "%C3%A9"]:
        resp = eio.request("GET", f"EIO=4&transport=polling&sid={sid}")
        assert resp.status == 400
    assert eio.request("GET", "EIO=4&transport=polling&EIO=3").status in (200, 400)
    resp = eio.request("GET", "EIO=4&transport=polling&" + "&".join(f"k{i}=v" for i in range(2000)))
    assert resp.status in (200, 400, 414, 431)
    if resp.status == 200:
        sid = json.loads(resp.body[1:])["sid"]
        eio.post(sid, "1")


def test_websocket_to_a_hostile_path_and_query(server: ServerThread) -> None:
    from tests.integration._wsclient import WsRejected, connect

    for target in [f"{PATH}?EIO=4&transport=websocket&sid=nope", f"{PATH}?EIO=9&transport=websocket",
                   f"{PATH}?transport=websocket", f"{PATH}?EIO=4&transport=flash"]:
        try:
            ws = connect(server.port, target)
        except (WsRejected, WsClosed):
            continue
        with ws:
            try:
                ws.wait_closed(3)
            except TimeoutError:
                raise AssertionError(f"{target} was accepted and kept open") from None


# ------------------------------------------------------------------ log lines


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.mark.parametrize("packet", [
    "42/" + "forged\nERROR root: fake line " * 3000 + ',["echo"]',  # ~90 KB, newlines
    "42/" + "n" * 90_000 + ',["echo"]',  # one long line
    "41/\r\n,",
])
def test_peer_data_never_becomes_a_huge_or_multi_line_log_line(
    server: ServerThread, packet: str
) -> None:
    lines = _Lines()
    loggers = [logging.getLogger(n) for n in ("transports", "socketio_core", "engineio")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.INFO)
        lg.addHandler(lines)
    try:
        with joined(server) as client:
            client.send(packet)  # a packet for a namespace never joined: closed
            assert closed(client)
        server.wait_idle()
    finally:
        for lg, level in zip(loggers, levels):
            lg.removeHandler(lines)
            lg.setLevel(level)
    assert lines.messages
    for message in lines.messages:
        assert "\n" not in message and "\r" not in message, message[:300]
        assert len(message) < 1000, message[:300]
