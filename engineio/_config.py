"""Engine.IO server options that shape the protocol (not the I/O).

Times are seconds (floats) because ``now`` is seconds; the handshake converts
them to the milliseconds the wire uses. Defaults are the reference server's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

__all__ = ["Config", "TRANSPORTS"]

TRANSPORTS = ("polling", "websocket")
#: The name the session compares its transport with on its hot paths.
_WEBSOCKET = "websocket"


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    ping_interval: float = 25.0
    ping_timeout: float = 20.0
    #: Bytes accepted in one polling POST or WebSocket message; announced in the handshake.
    max_payload: int = 1_000_000
    #: Time a probing WebSocket has to send the ``5`` upgrade packet.
    upgrade_timeout: float = 10.0
    #: Time a closing polling session waits for the client to collect its close packet.
    close_timeout: float = 30.0
    #: Bytes of messages waiting for one client before it is dropped as a slow
    #: consumer ("slow consumer"): a client that stops reading must not grow
    #: server memory without bound. 16 MB is 16 maximum-size payloads.
    max_buffer_bytes: int = 16_000_000
    #: Packets per long-polling response. The python-engineio client drops a
    #: session whose poll brings more than 16; the rest waits for the next poll.
    max_packets_per_poll: int = 16
    transports: tuple[str, ...] = TRANSPORTS
    allow_upgrades: bool = True
    #: Also serve Engine.IO v3 clients (``EIO=3``: Socket.IO JavaScript client
    #: 1.x/2.x), as the reference server's ``allowEIO3`` does (PROTOCOL.md 3).
    allow_eio3: bool = False
    #: The OPEN packet's text after its sid, per transport (see :meth:`open_packet_tail`).
    _open_tails: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        unknown = set(self.transports) - set(TRANSPORTS)
        if unknown or not self.transports:
            raise ValueError(f"transports must be a non-empty subset of {TRANSPORTS}")
        if self.ping_interval <= 0 or self.ping_timeout <= 0:
            raise ValueError("ping_interval and ping_timeout must be positive")
        if self.max_payload < 1:
            raise ValueError("max_payload must be positive")

    def open_packet_tail(self, transport: str) -> str:
        """The handshake's JSON after ``{"sid":...,``: the same for every session on ``transport``.

        Encoded once per transport and kept on this (immutable) config.
        """
        tail = self._open_tails.get(transport)
        if tail is None:
            tail = self._open_tails[transport] = json.dumps(
                {
                    "upgrades": self.upgrades_for(transport),
                    "pingInterval": round(self.ping_interval * 1000),
                    "pingTimeout": round(self.ping_timeout * 1000),
                    "maxPayload": self.max_payload,
                },
                separators=(",", ":"),
            )[1:]
        return tail

    def upgrades_for(self, transport: str) -> list[str]:
        """Transports a session on ``transport`` may upgrade to (handshake ``upgrades``)."""
        if transport == "polling" and self.allow_upgrades and "websocket" in self.transports:
            return ["websocket"]
        return []
