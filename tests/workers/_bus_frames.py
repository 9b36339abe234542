"""A stand-in for a bus peer's socket in the hub and worker unit tests: it decodes what it is sent."""

from __future__ import annotations

from typing import Any

from transports.gevent._cluster import _bus as bus


class FrameCollector:
    """Decodes every bus frame written to it (called as a ``Peer.send``, or via ``send``)."""

    def __init__(self) -> None:
        self.frames: list[tuple[bytes, dict[str, Any], bytes]] = []
        self._reader = bus.BusReader()

    def __call__(self, frame: bytes) -> None:
        self.frames.extend(self._reader.feed(frame))

    send = __call__
