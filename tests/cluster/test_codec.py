"""The Redis wire format and the emitter's messages, without Redis."""

from __future__ import annotations

from typing import Any

import pytest

from socketio_core.redis import _codec as codec
from socketio_core.emitter import Emitter


@pytest.mark.parametrize(
    "data",
    [
        ["event"],
        ["event", {"a": [1, 2.5, None, True, "é"]}],
        ["bin", b"\x00\x01\xff", {"nested": [bytearray(b"ab"), memoryview(b"cd")]}],
        ["empty", b""],
        ["look-alike", {"\x00c": "not a tag"}, {"$bin": "00"}],
    ],
)
def test_messages_round_trip_binary_included(data: list[Any]) -> None:
    message = {"type": "broadcast", "uid": "u", "nsp": "/", "data": data, "rooms": None}
    decoded = codec.loads(codec.dumps(message))
    expected = [bytes(v) if isinstance(v, (bytearray, memoryview)) else v for v in data]
    if len(data) > 2 and isinstance(data[2], dict) and "nested" in data[2]:
        expected[2] = {"nested": [b"ab", b"cd"]}
    assert decoded["data"] == expected


def test_tuples_and_sets_travel_as_lists() -> None:
    decoded = codec.loads(codec.dumps({"type": "t", "uid": "u", "x": (1, 2), "s": {3}}))
    assert decoded["x"] == [1, 2] and decoded["s"] == [3]


def test_unserializable_values_raise_unless_lenient() -> None:
    message = {"type": "sockets", "uid": "u", "data": {"when": object()}}
    with pytest.raises(TypeError):
        codec.dumps(message)
    assert codec.loads(codec.dumps(message, lenient=True))["data"]["when"].startswith("<object")


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b"[1, 2]", b'{"type": "broadcast"}', b'{"uid": "u"}', b"\xff\xfe",
     b'{"type": "t", "uid": "u", "x": {"\\u0000b": "***"}}', b'{"type": "t", "uid": "u", "x": {"\\u0000b": 5}}'],
)
def test_foreign_messages_are_refused_with_message_error(raw: bytes) -> None:
    with pytest.raises(codec.MessageError):
        codec.loads(raw)


def test_channels_are_per_prefix_and_per_server() -> None:
    assert codec.all_channel("socket.io") == "socket.io#py1"
    assert codec.reply_channel("app", "abc") == "app#py1#abc"
    assert codec.new_uid() != codec.new_uid()


class _Recorder:
    """Stands in for redis.Redis: keeps what was published, reports two servers."""

    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []

    def publish(self, channel: str, payload: bytes) -> int:
        self.published.append((channel, codec.loads(payload)))
        return 2

    def close(self) -> None:
        pass


def test_emitter_messages() -> None:
    client = _Recorder()
    emitter = Emitter(client=client, channel_prefix="app")  # type: ignore[arg-type]
    assert emitter.to("r1").to(["r2", "r1"]).except_("r3").emit("ev", 1, b"\x01") == 2
    emitter.of("admin").volatile.emit("ev")
    emitter.in_("r1").sockets_join(["x", "y"])
    emitter.sockets_leave("x")
    emitter.to("r9").disconnect_sockets(close=True)
    emitter.server_side_emit("reload", {"v": 2})
    emitter.send("hi")
    channels = {channel for channel, _ in client.published}
    assert channels == {"app#py1"}
    messages = [m for _, m in client.published]
    assert all(m["uid"] == emitter.uid for m in messages)
    strip = [{k: v for k, v in m.items() if k != "uid"} for m in messages]
    assert strip == [
        {"type": "broadcast", "nsp": "/", "data": ["ev", 1, b"\x01"], "rooms": ["r1", "r2"],
         "skip": ["r3"], "volatile": False},
        {"type": "broadcast", "nsp": "/admin", "data": ["ev"], "rooms": None, "skip": [],
         "volatile": True},
        {"type": "join", "nsp": "/", "rooms": ["r1"], "new_rooms": ["x", "y"]},
        {"type": "leave", "nsp": "/", "rooms": None, "old_rooms": ["x"]},
        {"type": "disconnect", "nsp": "/", "rooms": ["r9"], "close": True},
        {"type": "server_event", "event": "reload", "args": [{"v": 2}]},
        {"type": "broadcast", "nsp": "/", "data": ["message", "hi"], "rooms": None, "skip": [],
         "volatile": False},
    ]


def test_emitter_refuses_reserved_events() -> None:
    emitter = Emitter(client=_Recorder())  # type: ignore[arg-type]
    for event in ("connect", "disconnect", "connect_error"):
        with pytest.raises(ValueError):
            emitter.emit(event)
