"""Request validation and the OPEN packet (PROTOCOL.md 1.1, 1.3, 1.9).

check_request is a pure function of (method, query, is_websocket, config, the
sid registry), so every row below is one HTTP request and the exact answer the
spec's error table gives it.
"""

from __future__ import annotations

import json

import pytest

from engineio import Config, Request, RequestRejected, check_request, open_packet
from engineio._handshake import FORBIDDEN, reject

#: The live sessions the requests refer to: sid -> current transport.
SESSIONS = {"pollsid": "polling", "upgradedsid": "websocket"}

MESSAGES = {
    0: "Transport unknown",
    1: "Session ID unknown",
    2: "Bad handshake method",
    3: "Bad request",
    4: "Forbidden",
    5: "Unsupported protocol version",
}


def check(
    method: str,
    query: dict[str, str],
    *,
    is_websocket: bool = False,
    config: Config = Config(),
) -> Request:
    return check_request(
        method, query, is_websocket=is_websocket, config=config,
        session_transport=SESSIONS.get,
    )


#: (method, query, is_websocket, config, expected code)
ERROR_CASES = [
    # 0: transport missing, unknown, or not enabled
    ("GET", {"EIO": "4"}, False, Config(), 0),
    ("GET", {"EIO": "4", "transport": "abc"}, False, Config(), 0),
    ("GET", {"EIO": "4", "transport": ""}, False, Config(), 0),
    ("GET", {"EIO": "4", "transport": "Polling"}, False, Config(), 0),
    ("GET", {"EIO": "4", "transport": "webtransport"}, True, Config(), 0),
    ("GET", {"EIO": "4", "transport": "websocket"}, True,
     Config(transports=("polling",)), 0),
    ("GET", {"EIO": "4", "transport": "polling"}, False,
     Config(transports=("websocket",)), 0),
    # 1: sid not found (GET, POST, WebSocket)
    ("GET", {"EIO": "4", "transport": "polling", "sid": "nope"}, False, Config(), 1),
    ("POST", {"EIO": "4", "transport": "polling", "sid": "nope"}, False, Config(), 1),
    ("GET", {"EIO": "4", "transport": "websocket", "sid": "nope"}, True, Config(), 1),
    ("GET", {"EIO": "4", "transport": "polling", "sid": ""}, False, Config(), 1),
    # 2: handshake with a method other than GET
    ("POST", {"EIO": "4", "transport": "polling"}, False, Config(), 2),
    ("PUT", {"EIO": "4", "transport": "polling"}, False, Config(), 2),
    ("OPTIONS", {"EIO": "4", "transport": "polling"}, False, Config(), 2),
    # 3: websocket without an Upgrade; polling on an upgraded session
    ("GET", {"EIO": "4", "transport": "websocket"}, False, Config(), 3),
    ("GET", {"EIO": "4", "transport": "websocket", "sid": "pollsid"}, False, Config(), 3),
    ("GET", {"EIO": "4", "transport": "polling", "sid": "upgradedsid"}, False, Config(), 3),
    ("POST", {"EIO": "4", "transport": "polling", "sid": "upgradedsid"}, False, Config(), 3),
    # 5: protocol version other than exactly "4" on a handshake
    ("GET", {"transport": "polling"}, False, Config(), 5),
    ("GET", {"EIO": "3", "transport": "polling"}, False, Config(), 5),
    ("GET", {"EIO": "5", "transport": "polling"}, False, Config(), 5),
    ("GET", {"EIO": "", "transport": "polling"}, False, Config(), 5),
    ("GET", {"EIO": "4 ", "transport": "polling"}, False, Config(), 5),
    ("GET", {"EIO": "04", "transport": "polling"}, False, Config(), 5),
    ("GET", {"EIO": "3", "transport": "websocket"}, True, Config(), 5),
    ("GET", {"transport": "websocket"}, True, Config(), 5),
]


@pytest.mark.parametrize(("method", "query", "is_websocket", "config", "code"), ERROR_CASES)
def test_request_errors(
    method: str, query: dict[str, str], is_websocket: bool, config: Config, code: int
) -> None:
    with pytest.raises(RequestRejected) as info:
        check(method, query, is_websocket=is_websocket, config=config)
    error = info.value
    assert error.code == code
    assert error.message == MESSAGES[code]
    assert error.http_status == 400
    assert json.loads(error.body()) == {"code": code, "message": MESSAGES[code]}


def test_every_code_has_an_exact_json_body_and_status() -> None:
    for code, message in MESSAGES.items():
        error = reject(code)
        expected = f'{{"code":{code},"message":"{message}"}}'.encode()
        assert error.body() == expected  # compact, key order code then message
        assert error.http_status == (403 if code == FORBIDDEN else 400)
        assert (error.code, error.message) == (code, message)


#: Several errors apply at once: the reference order decides which one wins
#: (transport, then sid, then method, then websocket-without-upgrade, then EIO).
ORDER_CASES = [
    ("POST", {"EIO": "3", "transport": "abc", "sid": "nope"}, False, 0),
    ("POST", {"EIO": "3", "transport": "abc", "sid": "pollsid"}, False, 0),
    ("POST", {"EIO": "3", "transport": "abc"}, False, 0),
    ("POST", {"EIO": "3", "transport": "polling", "sid": "nope"}, False, 1),
    ("PUT", {"EIO": "3", "transport": "websocket", "sid": "nope"}, False, 1),
    ("POST", {"EIO": "3", "transport": "websocket"}, False, 2),
    ("PUT", {"transport": "polling"}, False, 2),
    ("GET", {"EIO": "3", "transport": "websocket"}, False, 3),
    ("GET", {"transport": "websocket"}, False, 3),
    ("GET", {"EIO": "3", "transport": "polling", "sid": "upgradedsid"}, False, 3),
]


@pytest.mark.parametrize(("method", "query", "is_websocket", "code"), ORDER_CASES)
def test_error_precedence(
    method: str, query: dict[str, str], is_websocket: bool, code: int
) -> None:
    with pytest.raises(RequestRejected) as info:
        check(method, query, is_websocket=is_websocket)
    assert info.value.code == code


#: (method, query, is_websocket, expected request)
OK_CASES = [
    ("GET", {"EIO": "4", "transport": "polling"}, False,
     Request(transport="polling", sid=None)),
    ("GET", {"EIO": "4", "transport": "polling", "t": "Nx1abc", "token": "x"}, False,
     Request(transport="polling", sid=None)),
    ("GET", {"EIO": "4", "transport": "websocket"}, True,
     Request(transport="websocket", sid=None)),
    ("GET", {"EIO": "4", "transport": "polling", "sid": "pollsid"}, False,
     Request(transport="polling", sid="pollsid")),
    ("POST", {"EIO": "4", "transport": "polling", "sid": "pollsid"}, False,
     Request(transport="polling", sid="pollsid")),
    # The version is checked on the handshake only, as the reference server does.
    ("GET", {"transport": "polling", "sid": "pollsid"}, False,
     Request(transport="polling", sid="pollsid")),
    ("GET", {"EIO": "4", "transport": "websocket", "sid": "pollsid"}, True,
     Request(transport="websocket", sid="pollsid", is_upgrade=True)),
    # A second WebSocket for an upgraded sid is the session's call (accept, then close).
    ("GET", {"EIO": "4", "transport": "websocket", "sid": "upgradedsid"}, True,
     Request(transport="websocket", sid="upgradedsid", is_upgrade=True)),
]


@pytest.mark.parametrize(("method", "query", "is_websocket", "expected"), OK_CASES)
def test_valid_requests(
    method: str, query: dict[str, str], is_websocket: bool, expected: Request
) -> None:
    assert check(method, query, is_websocket=is_websocket) == expected


# -------------------------------------------------------------------- handshake


def test_open_packet_exact_bytes_polling() -> None:
    config = Config(ping_interval=0.3, ping_timeout=0.2, max_payload=1_000_000)
    assert open_packet("oEqtBF5WDJ_YfJu5AAQ_", "polling", config) == (
        '0{"sid":"oEqtBF5WDJ_YfJu5AAQ_","upgrades":["websocket"],'
        '"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}'
    )


def test_open_packet_defaults_are_the_reference_servers() -> None:
    assert open_packet("s", "polling", Config()) == (
        '0{"sid":"s","upgrades":["websocket"],'
        '"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}'
    )


@pytest.mark.parametrize(
    ("transport", "config", "upgrades"),
    [
        ("polling", Config(), ["websocket"]),
        ("websocket", Config(), []),
        ("polling", Config(allow_upgrades=False), []),
        ("polling", Config(transports=("polling",)), []),
        ("websocket", Config(transports=("websocket",)), []),
    ],
)
def test_open_packet_keys_and_upgrades(
    transport: str, config: Config, upgrades: list[str]
) -> None:
    wire = open_packet("abc", transport, config)
    assert wire[0] == "0"
    payload = json.loads(wire[1:])
    assert list(payload) == ["sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"]
    assert payload["upgrades"] == upgrades
    assert all(type(payload[k]) is int for k in ("pingInterval", "pingTimeout", "maxPayload"))
    assert " " not in wire  # compact JSON, as JSON.stringify writes it


def test_open_packet_milliseconds_are_integers() -> None:
    config = Config(ping_interval=0.3, ping_timeout=1.25)
    payload = json.loads(open_packet("s", "polling", config)[1:])
    assert payload["pingInterval"] == 300 and payload["pingTimeout"] == 1250


@pytest.mark.parametrize("sid", ["oEqtBF5WDJ_YfJu5AAQ_", "", 'quote"back\\slash', "caf\u00e9 \u2603", "\x00\x1f"])
@pytest.mark.parametrize(
    "config",
    [Config(), Config(ping_interval=0.3, ping_timeout=0.2, max_payload=7), Config(allow_upgrades=False)],
)
@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_open_packet_is_json_dumps_of_the_five_keys(sid: str, config: Config, transport: str) -> None:
    # The cached tail and the per-session sid make exactly what one json.dumps makes.
    expected = "0" + json.dumps(
        {
            "sid": sid,
            "upgrades": config.upgrades_for(transport),
            "pingInterval": round(config.ping_interval * 1000),
            "pingTimeout": round(config.ping_timeout * 1000),
            "maxPayload": config.max_payload,
        },
        separators=(",", ":"),
    )
    assert open_packet(sid, transport, config) == expected
    assert open_packet(sid, transport, config) == expected  # from the cache


def test_open_packet_with_an_unhashable_config() -> None:
    config = Config(transports=["polling", "websocket"])  # type: ignore[arg-type]
    assert open_packet("s", "polling", config) == open_packet("s", "polling", Config())
