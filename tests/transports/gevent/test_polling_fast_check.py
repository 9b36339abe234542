"""The polling hot path's request check accepts only what check_request accepts."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engineio import Config, RequestRejected, check_request
from transports.gevent._engine import EngineServer, EngineSocket
from transports._request import HttpRequest


class _Quiet:
    def engineio_session_opened(self, socket: EngineSocket) -> None: ...

    def engineio_message(self, socket: EngineSocket, data: str | bytes) -> None: ...

    def engineio_session_closed(self, socket: EngineSocket, reason: str) -> None: ...


def _request(method: str, query: str, origin: str | None) -> HttpRequest:
    fields = [("Host", "h")] + ([("Origin", origin)] if origin else [])
    return HttpRequest(
        method, "/engine.io/?" + query, "/engine.io/", query, None, ("127.0.0.1", 1),
        header_map={name.lower(): value for name, value in fields}, fields=fields,
    )


@settings(max_examples=400, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "PUT"]),
    transport=st.sampled_from(["polling", "websocket", "flash", None]),
    eio=st.sampled_from(["4", "3", "5", None]),
    which_sid=st.sampled_from(["polling4", "polling3", "websocket", "closed", "unknown", None]),
    origin=st.sampled_from([None, "http://h", "http://evil"]),
    transports=st.sampled_from([("polling", "websocket"), ("polling",), ("websocket",)]),
)
def test_fast_check_agrees_with_check_request(
    method: str, transport: str | None, eio: str | None, which_sid: str | None,
    origin: str | None, transports: tuple[str, ...],
) -> None:
    config = Config(transports=transports, allow_eio3=True)
    server = EngineServer(_Quiet(), config, cors_allowed_origins=["http://h"])
    sids: dict[str, Any] = {}
    for name, kind, protocol in (
        ("polling4", "polling", 4), ("polling3", "polling", 3),
        ("websocket", "websocket", 4), ("closed", "polling", 4),
    ):
        if kind not in transports:
            continue
        esock = server._new_session(kind, _request("GET", "EIO=4", None), protocol)
        sids[name] = esock.sid
    if "closed" in sids:
        server.sessions[sids["closed"]].close()
    parts = []
    if eio is not None:
        parts.append(f"EIO={eio}")
    if transport is not None:
        parts.append(f"transport={transport}")
    sid = sids.get(which_sid) if which_sid is not None else None
    if which_sid == "unknown":
        sid = "nosuchsession"
    if sid is not None:
        parts.append(f"sid={sid}")
    request = _request(method, "&".join(parts), origin)
    fast = server._live_polling_session(request)
    if fast is None:
        return
    # Whatever the fast check takes, the general check takes the same way.
    assert server.cors.is_allowed(request)
    try:
        req = check_request(
            method, request.query, is_websocket=request.wants_websocket, config=config,
            session_transport=server._transport_of, session_protocol=server._protocol_of,
        )
    except RequestRejected as exc:  # pragma: no cover - the bug this test is for
        raise AssertionError(f"fast path took a request check_request refuses: {exc.message}") from None
    assert req.transport == "polling"
    assert req.sid == fast.sid
    assert req.protocol == 4


def test_fast_check_takes_the_plain_poll() -> None:
    server = EngineServer(_Quiet(), Config())
    esock = server._new_session("polling", _request("GET", "EIO=4", None))
    plain = _request("GET", f"EIO=4&transport=polling&sid={esock.sid}", None)
    assert server._live_polling_session(plain) is esock
    assert server._live_polling_session(_request("GET", f"transport=polling&sid={esock.sid}", None)) is None
