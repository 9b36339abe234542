"""The echo server with ``--allow-eio3`` against the official npm ``socket.io-client`` 2.x.

socket.io-client 2.5 speaks Engine.IO v3 and Socket.IO protocol 4
(PROTOCOL.md 3): the server joins it to ``/`` unasked with the handshake
query as auth, namespace auth travels in the CONNECT's query string, socket
ids derive from the Engine.IO sid, and the client (not the server) pings.
Every scenario runs over polling only, WebSocket only, and the client's
default (polling, then the upgrade). In Node the client polls with base64
(its XMLHttpRequest has no binary support), so the binary payload format and
JSONP are exercised in headless Chromium (eio3_browser.js), and over raw
HTTP by test_engineio_v3.py. The Node scripts only record what the client
observed; the expectations are here.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.conftest import run_node

MODES = ["polling", "websocket", "default"]
CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.timeout(120)


def b(hex_digits: str) -> dict[str, str]:
    """How the script reports a binary value."""
    return {"$bin": hex_digits}


@pytest.fixture(scope="module")
def runs_store() -> dict[str, Any]:
    return {}


@pytest.fixture
def runs(echo_server: Callable[..., Any], runs_store: dict[str, Any]) -> dict[str, Any]:
    """One server, the three Node runs in parallel; done once for the module."""
    if not runs_store:
        # A short ping interval: the idle scenario sees several client pings.
        server = echo_server("--allow-eio3", "--ping-interval", "500", "--ping-timeout", "1000")
        try:
            with ThreadPoolExecutor(len(MODES)) as pool:
                futures = {mode: pool.submit(run_node, "eio3_client.js", server.url, mode, timeout=90)
                           for mode in MODES}
                runs_store["results"] = {mode: f.result() for mode, f in futures.items()}
        except Exception as exc:  # reported by every test, without running Node again
            runs_store["failure"] = exc
        runs_store["log"] = server.stop()
    if "failure" in runs_store:
        raise runs_store["failure"]
    return runs_store


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def scenario(runs: dict[str, Any], mode: str, name: str) -> Any:
    result = runs["results"][mode][name]
    assert not (isinstance(result, dict) and "error" in result), result.get("error")
    return result


def final_transport(mode: str) -> str:
    return "polling" if mode == "polling" else "websocket"


def test_connect_joins_root_unasked_with_the_query_as_auth(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "auth")
    assert r["root_auth"] == {"token": "abc", "é": "😀"}
    assert r["plain_auth"] == {}
    assert r["custom_auth"] == {"where": "custom", "n": "1"}  # query values are strings
    assert r["auth_events"] == [1, 1, 1]
    # Protocol 4 ids: the Engine.IO sid on /, "<nsp>#<sid>" elsewhere.
    assert r["root_id"] == r["root_engine_id"]
    assert r["custom_id"] == "/custom#" + r["custom_engine_id"]
    assert r["transport"] == final_transport(mode)


def test_emit_and_acks_both_ways(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "emit")
    assert r["message_back"] == [1, "2", {"3": [False]}]
    assert r["echo"] == ["é😀\u2028\u2029\"\\\n/</script>", None, True, 3.5,
                         {"nested": ["a", {"b": -1}]}, []]
    assert r["ack"] == [1, "2", {"3": [False]}]
    assert r["ack_empty"] == []
    assert r["called"] == [{"got": "hi"}]  # the server's own emit with an ack
    assert r["transport"] == final_transport(mode)


@pytest.mark.parametrize("variant", ["binary", "binary_b64"])
def test_binary_attachments_both_ways(runs: dict[str, Any], mode: str, variant: str) -> None:
    r = scenario(runs, mode, variant)
    assert r["message_back"] == [b("010203"), {"nested": [b("04"), "x", {"deep": b("")}]}]
    assert r["ack"] == [b("0506"), "text", b("07")]
    assert r["big_ok"] is True and r["big_length"] == 100_000
    assert r["transport"] == final_transport(mode)
    # forceBase64 makes even the WebSocket carry b4<base64> text frames.
    if variant == "binary_b64":
        assert r["engine_supports_binary"] is False
    elif mode != "polling":
        assert r["engine_supports_binary"] is True


def test_broadcast_to_rooms(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "broadcast")
    assert r["joined"][0].startswith("room-")
    assert r["a"] == ["hello room", b("0908")]
    assert r["a_second"] == "only a"
    assert r["b_count"] == 1  # b left before the second message
    assert r["c_count"] == 0  # the sender was not in the room
    assert r["custom_bcast"]["n"] == 1


def test_namespaces_share_one_session(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "namespaces")
    assert r["root_auth"] == {"ns": "root"}
    assert r["custom_auth"] == {"ns": "custom"}
    assert r["same_engine"] is True
    root_id, custom_id, engine_id = r["ids"]
    assert root_id == engine_id and custom_id == "/custom#" + engine_id
    assert (r["custom_back"], r["root_back"]) == ("to-custom", "to-root")
    assert (r["custom_back_count"], r["root_back_count"]) == (1, 1)
    # An unknown namespace gets the object, even in protocol 4; the session lives on.
    assert r["invalid"] == {"message": "Invalid namespace"}
    assert r["after_invalid"] == ["still here"]
    assert r["after_custom_left"] == ["root-after"]
    assert r["root_connected"] is True and r["custom_connected"] is False


def test_server_side_disconnect(runs: dict[str, Any], mode: str) -> None:
    assert scenario(runs, mode, "server_disconnect") == {"reason": "io server disconnect"}


def test_client_pings_keep_the_session(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "heartbeat")
    # 1.8 s idle with a 0.5 s ping interval: the client pinged, we answered each time.
    assert r["pongs"] >= 2
    assert r["answer"] == ["alive"] and r["connected"] is True


def test_server_saw_legacy_sockets(runs: dict[str, Any]) -> None:
    log = runs["log"]
    assert "Traceback" not in log
    assert "to /custom" in log and "connect /custom#" in log
    assert "ping timeout" not in log


def test_browser_client_xhr2_binary_payloads_and_jsonp(echo_server: Callable[..., Any]) -> None:
    """In a browser the v2 client polls with XHR2 (binary payload format) or, forced, JSONP."""
    assert CHROMIUM.exists() or shutil.which("chromium"), (
        "chromium is missing: run `make system-deps` (apt-get install chromium)"
    )
    server = echo_server("--allow-eio3")
    result = run_node("eio3_browser.js", server.url, str(CHROMIUM), timeout=90)
    log = server.stop()
    assert "error" not in result, result
    assert result["errors"] == []
    for name in ("xhr2", "jsonp"):
        r = result[name]
        assert r["auth"] == {"token": name}
        assert r["id_is_engine_id"] is True
        assert r["message_back"] == ["010203", "t\u00e9xt\u2028", "ff00"]
        assert r["ack"] == ["09"]
        assert r["transport"] == "polling"
    assert (result["xhr2"]["jsonp"], result["xhr2"]["supports_binary"]) == (False, True)
    assert (result["jsonp"]["jsonp"], result["jsonp"]["supports_binary"]) == (True, False)
    xhr2_posts = {r["content_type"] for r in result["requests"] if r["method"] == "POST" and not r["jsonp"]}
    jsonp_posts = {r["content_type"] for r in result["requests"] if r["method"] == "POST" and r["jsonp"]}
    # XHR2: binary goes up in the binary payload format, and comes back in it.
    assert "application/octet-stream" in xhr2_posts
    xhr2_gets = {r["content_type"] for r in result["responses"] if not r["jsonp"] and r["status"] == 200}
    assert xhr2_gets == {"text/plain; charset=UTF-8", "application/octet-stream"}
    # JSONP: hidden-form POSTs, <script> GETs answered with JavaScript.
    assert jsonp_posts == {"application/x-www-form-urlencoded"}
    jsonp_gets = {r["content_type"] for r in result["responses"] if r["jsonp"] and r["status"] == 200}
    assert jsonp_gets == {"text/javascript; charset=UTF-8"}
    assert log.count("connect ") >= 2 and "Traceback" not in log
