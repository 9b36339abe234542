"""``socketio.run(app, workers=2)``: the Flask app and Socket.IO from two workers.

Two raw polling clients land on the two workers (their sids' prefixes
differ); a broadcast from one reaches both through the local adapter; Flask
routes answer from the workers.
"""

from __future__ import annotations

import sys

from tests.conftest import ServerProcess, free_port
from tests.integration._eio import Eio, split_payload

from .conftest import HERE, unknown_sid_answers


class _FlaskProcess(ServerProcess):
    """Ready at Flask's " * Running on" line instead of the echo server's."""

    def _read_output(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._new_output:
                self.output.append(line)
                self._new_output.notify_all()
            if " * Running on" in line:
                self._listening.set()
        with self._new_output:
            self._new_output.notify_all()


def _connect(eio: Eio) -> str:
    sid, _ = eio.handshake()
    assert eio.post(sid, "40").status == 200
    assert split_payload(eio.poll(sid).body)[0].startswith("40{")
    return sid


def test_flask_app_on_two_workers() -> None:
    port = free_port()
    server = _FlaskProcess([sys.executable, str(HERE / "_flask_workers.py"), str(port)], port)
    try:
        eio = Eio(port, path="/socket.io/")
        a, b = _connect(eio), _connect(eio)
        assert {a.split(".")[0], b.split(".")[0]} == {"1", "2"}, (a, b)
        assert eio.post(a, '42["bcast",{"id":"x"}]').status == 200
        for sid in (a, b):
            packets = split_payload(eio.poll(sid).body)
            assert packets == ['42["bcast",{"id":"x"}]'], (sid, packets)
        pids = set()
        for _ in range(4):
            response = eio.request("GET", "", target="/pid")
            assert response.status == 200
            pids.add(int(response.body))
        assert len(pids) == 2, pids  # each new connection to the next worker
    finally:
        output = server.stop()
    assert server.proc.returncode == 0, output[-3000:]
    assert "Traceback" not in output and unknown_sid_answers(output) == 0, output[-3000:]
    assert "with socketio-core (gevent, 2 workers)" in output
