"""One keep-alive connection carrying the requests of sessions on both workers.

A client's connection pool reuses connections across sessions, so a worker
may read a request for another worker's session: it hands the connection
back to the supervisor, which routes it on (a handshake on such a
connection too, so that new sessions are still spread). Every request must
be answered by its session's worker: all 200, every echo where it belongs,
no "Session ID unknown", and the supervisor counted the hand-backs.
"""

from __future__ import annotations

import http.client
import json
from typing import Any

from .conftest import echo_workers, handed_back, unknown_sid_answers

PATH = "/engine.io/?EIO=4&transport=polling"


def _request(conn: http.client.HTTPConnection, method: str, target: str, body: bytes | None = None) -> tuple[int, bytes]:
    conn.request(method, target, body=body)
    response = conn.getresponse()
    return response.status, response.read()


def test_one_connection_serves_sessions_of_both_workers() -> None:
    server = echo_workers("--engineio-only")
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        sids = []
        for _ in range(6):
            status, body = _request(conn, "GET", PATH)
            assert status == 200, body
            sids.append(json.loads(body[1:])["sid"])
        # Handshakes on a reused connection are spread by the supervisor all the same.
        assert {sid.split(".")[0] for sid in sids} == {"1", "2"}, sids
        answers: list[Any] = []
        for round_ in range(3):
            for sid in sids:
                status, body = _request(conn, "POST", f"{PATH}&sid={sid}", f"4{round_}:{sid}".encode())
                assert (status, body) == (200, b"ok"), (sid, body)
                status, body = _request(conn, "GET", f"{PATH}&sid={sid}")
                answers.append((status, body))
                assert (status, body) == (200, f"4{round_}:{sid}".encode()), (sid, body)
        conn.close()
    finally:
        output = server.stop()
    assert server.proc.returncode == 0, output[-3000:]
    assert unknown_sid_answers(output) == 0, output[-3000:]
    # Each change of worker along the connection was one hand-back (at least one per round).
    assert handed_back(output) >= 3 * 2, output[-3000:]
