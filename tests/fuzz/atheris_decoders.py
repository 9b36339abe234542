"""Coverage-guided fuzzing of the wire decoders with atheris (libFuzzer for Python).

Run it (atheris is not a project dependency; ``.venv/bin/pip install atheris``)::

    .venv/bin/python tests/fuzz/atheris_decoders.py -max_total_time=60 -artifact_prefix=/tmp/

Any libFuzzer flag works (``-runs=N``, ``-jobs=2``, a corpus directory as the
last argument). A crash is written as ``<artifact_prefix>crash-<sha1>`` and
can be replayed by passing that file instead of a corpus.

Targets, picked by the first input byte (mod 5); messages are separated by
``\\xfe``, and one that starts with ``\\xff`` is binary:

0. ``engineio.decode_packet`` on text and on bytes (a WebSocket frame);
1. ``engineio.decode_payload`` (a long-polling body);
2. a Socket.IO ``PacketDecoder`` fed a sequence of text and binary messages;
   every packet it accepts must re-encode with ``encode_packet`` and decode
   again to an equal packet (what the echo server does with it);
3. an ``engineio.Session`` (polling, then WebSocket after an upgrade) fed the
   input as POST bodies and messages; every drained body must decode;
4. a Socket.IO ``Connection`` fed the messages, every CONNECT accepted: error
   reasons stay short single lines (they are logged), limits hold.

Only the typed protocol errors are expected: ``engineio.RemoteProtocolError``
and ``socketio_core.RemoteSocketIOError`` for what a peer sent. Anything else
(a ValueError, a RecursionError, a LocalProtocolError on re-encoding what we
accepted, an assertion below) is a finding.

pytest never collects this file (its name does not start with ``test_``) and
importing it needs no atheris: everything runs under ``__main__``. Without a
corpus argument, a seed corpus and a token dictionary are written to the
temporary directory and used.
"""

from __future__ import annotations

import math
import sys
from typing import Any


def _finite(value: Any) -> bool:
    """False when JSON parsing produced an infinite float (``1e999``): JSON.stringify writes null."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    return True


def _split(data: bytes) -> list[str | bytes]:
    """Cut the input into Engine.IO messages at ``\\xfe``: binary when led by ``\\xff``, else text."""
    items: list[str | bytes] = []
    for part in data.split(b"\xfe")[:32]:
        if part[:1] == b"\xff":
            items.append(part[1:])
        else:
            items.append(part.decode("utf-8", "replace"))
    return items


def fuzz_one(data: bytes) -> None:
    import engineio
    import socketio_core
    from socketio_core.protocol._decoder import PacketDecoder
    from socketio_core.protocol._encoder import encode_packet

    if not data:
        return
    target = data[0] % 5
    rest = data[1:]

    if target == 0:
        raw = rest
        for wire in (raw.decode("utf-8", "replace"), raw):
            try:
                packet = engineio.decode_packet(wire)
            except engineio.RemoteProtocolError:
                continue
            again = engineio.decode_packet(engineio.encode_packet(packet))
            assert again == packet, (packet, again)
        return

    if target == 1:
        body = rest
        try:
            packets = engineio.decode_payload(body)
        except engineio.RemoteProtocolError:
            return
        wires = [engineio.encode_packet(p) for p in packets]
        assert engineio.decode_payload(engineio.encode_payload(wires)) == packets
        return

    if target == 2:
        decoder = PacketDecoder(max_depth=8 if data[0] & 0x80 else 32)
        for item in _split(rest):
            try:
                if isinstance(item, str):
                    sio_packet = decoder.receive_text(item)
                else:
                    sio_packet = decoder.receive_binary(item)
            except socketio_core.RemoteSocketIOError as exc:
                assert exc.reason and "\n" not in exc.reason and len(exc.reason) < 200, exc.reason
                continue
            assert decoder.pending_attachments >= 0
            if sio_packet is None or not _finite(sio_packet.data):
                continue
            # What we accept we can send back, and read back the same.
            text, attachments = encode_packet(sio_packet)
            echo = PacketDecoder(max_attachments=10**6, max_depth=64)
            result = echo.receive_text(text)
            for blob in attachments:
                assert result is None
                result = echo.receive_binary(blob)
            assert result is not None
            assert (result.namespace, result.data, result.id) == (
                sio_packet.namespace, sio_packet.data, sio_packet.id
            ), (sio_packet, result)
        return

    _LIVE = (engineio.State.OPENING, engineio.State.OPEN, engineio.State.UPGRADING)
    if target == 4:
        from socketio_core.protocol._connection import ConnectRequested, Connection

        conn = Connection(0.0, max_namespaces=4, decoder=PacketDecoder(max_depth=16))
        for item in _split(rest):
            try:
                conn.receive(item)
            except socketio_core.RemoteSocketIOError as exc:
                assert exc.reason and "\n" not in exc.reason and len(exc.reason) < 200, exc.reason
            while (event := conn.next_event()) is not None:
                if type(event) is ConnectRequested:
                    reply = conn.accept(event.namespace, "socket-id")  # as the server would
                    assert reply and isinstance(reply[0], str)
            assert len(conn.namespaces) <= 4
        return

    config = engineio.Config(ping_interval=1, ping_timeout=1, max_payload=256,
                             max_buffer_bytes=512, max_packets_per_poll=4)
    session = engineio.Session("sid", "polling", config, 0.0)
    assert session.drain_polling() is not None
    now = 0.0
    for item in _split(rest):
        now += 0.25
        try:
            if session.transport == "polling":
                if isinstance(item, bytes):
                    session.receive_payload(item, now)
                elif item == "upgrade":
                    session.begin_upgrade(now)
                else:
                    session.receive_probe(item, now)
            else:
                session.receive_message(item, now)
        except engineio.RemoteProtocolError:
            pass
        session.handle_timeout(now)
        while (event := session.next_event()) is not None:
            if type(event) is engineio.MessageReceived and session.state in _LIVE:
                session.send_message(event.data)  # echo, as the Engine.IO echo server does
        drained = session.drain_polling()
        if drained is not None and session.transport == "polling":
            engineio.decode_payload(drained)
        for frame in session.drain_frames():
            if isinstance(frame, str):
                engineio.decode_packet(frame)


SEEDS = [
    b"\x004hello", b"\x002probe", b"\x00\x01\x02", b"\x016", b"\x014a\x1ebAQID\x1e3\x1e2probe",
    b"\x0240", b"\x020/admin,{\"token\":1}", b'\x022["echo",1,"2",{"3":[false]}]',
    b'\x0221["echo"]', b"\x023/admin,13[]", b'\x0244{"message":"x"}',
    b'\x0251-["echo",{"_placeholder":true,"num":0}]\xfe\xff\x01\x02\x03',
    b'\x0262-/a,7[{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]\xfe\xffa\xfe\xffb',
    b"\x82" + b'2["x",' + b"[" * 20 + b"]" * 20 + b"]",
    b"\x03\xff40\x1e42[\"e\"]\x1e3\xfeupgrade\xfe2probe\xfe5\xfe4hi\xfe\xff\x00",
    b"\x040\xfe0/a,\xfe2[\"x\"]\xfe2/a,1[\"y\"]\xfe3/a,1[]\xfe1/a,\xfe2/b,[\"z\"]",
    b'\x0451-["x",{"_placeholder":true,"num":0}]\xfe0\xfe\xff\x00',
]
TOKENS = [
    '"_placeholder"', '"num"', "true", "false", "null", "1e999", "-0.0", "\\u0000", "\\ud800",
    "451-", "52-", "/admin,", "2probe", "3probe", "\x1e", "b", "[", "]", "{", "}", '"', ",", ":",
]


def _default_corpus(argv: list[str]) -> list[str]:
    """Seed corpus and dictionary in a temporary directory, unless the caller gave their own."""
    import tempfile
    from pathlib import Path

    extra: list[str] = []
    if not any(arg.startswith("-dict=") for arg in argv):
        path = Path(tempfile.gettempdir()) / "atheris_decoders.dict"
        path.write_text("".join(f'"{_escape(t)}"\n' for t in TOKENS))
        extra.append(f"-dict={path}")
    if not any(not arg.startswith("-") for arg in argv[1:]):
        corpus = Path(tempfile.gettempdir()) / "atheris_decoders_corpus"
        corpus.mkdir(exist_ok=True)
        for i, seed in enumerate(SEEDS):
            (corpus / f"seed-{i}").write_bytes(seed)
        extra.append(str(corpus))
    return [argv[0], *[a for a in argv[1:] if a.startswith("-")], *extra,
            *[a for a in argv[1:] if not a.startswith("-")]]


def _escape(token: str) -> str:
    return "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else f"\\x{ord(c) & 0xFF:02x}"
                   for c in token)


def main(argv: list[str]) -> None:
    import atheris

    with atheris.instrument_imports(include=["engineio", "socketio_core"]):
        import engineio  # noqa: F401
        import socketio_core.protocol._packets  # noqa: F401
    atheris.Setup(_default_corpus(argv), fuzz_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
