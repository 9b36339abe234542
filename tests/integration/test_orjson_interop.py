"""``Server(json="orjson")`` against the official socket.io-client, next to the built-in codec.

tests/interop/sio_features.js (the echo server's feature scenarios) runs over
every transport mode against two servers that differ only in their JSON
codec (tests/integration/_msgpack_server.py ``json`` / ``orjson``). What the
client observes in the scenarios without per-run ids must be identical:
events, acks both ways, binary in every position, non-ASCII, long strings.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import pytest

from tests.conftest import run_node
from tests.integration.test_msgpack_interop import ParserServer

MODES = ["polling", "websocket", "default"]
CODECS = ["json", "orjson"]
# Scenarios whose observations hold no socket id, room tag or timing (the
# *_upgraded ones run in the default mode only).
DETERMINISTIC = [
    (mode, name)
    for mode in MODES
    for name in ("invalid_namespace", "emit", "call_me", "binary", "binary_custom")
] + [("default", "emit_upgraded"), ("default", "binary_upgraded")]


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, Any]]:
    servers = {codec: ParserServer(codec) for codec in CODECS}
    try:
        with ThreadPoolExecutor(len(MODES) * len(CODECS)) as pool:
            futures = {
                (codec, mode): pool.submit(run_node, "sio_features.js", servers[codec].url, mode)
                for codec in CODECS
                for mode in MODES
            }
            results = {key: future.result() for key, future in futures.items()}
    finally:
        logs = {codec: server.stop() for codec, server in servers.items()}
    yield {"results": results, "logs": logs}


@pytest.mark.parametrize("mode", MODES)
def test_every_scenario_ran(runs: dict[str, Any], mode: str) -> None:
    for name, result in runs["results"][("orjson", mode)].items():
        assert not (isinstance(result, dict) and "error" in result), (name, result)


@pytest.mark.parametrize(("mode", "name"), DETERMINISTIC)
def test_orjson_server_looks_the_same_to_the_client(runs: dict[str, Any], mode: str, name: str) -> None:
    results = runs["results"]
    assert results[("orjson", mode)][name] == results[("json", mode)][name]


def test_no_server_error(runs: dict[str, Any]) -> None:
    for codec, log in runs["logs"].items():
        assert "Traceback" not in log, (codec, log[-4000:])
        assert "broke the protocol" not in log, (codec, log[-4000:])
