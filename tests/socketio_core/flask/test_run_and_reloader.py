"""``socketio.run``: options, and the development reloader (a new child process on a source change)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

from tests.conftest import ROOT, free_port

APP = textwrap.dedent('''
    import os
    from flask import Flask
    from socketio_core.flask import SocketIO

    app = Flask(__name__)
    socketio = SocketIO(app)
    VERSION = {version}

    @app.route("/version")
    def version():
        return f"{{VERSION}} {{os.getpid()}}"

    @socketio.on("connect")
    def connect():
        print("connected", flush=True)

    if __name__ == "__main__":
        socketio.run(app, port=int(os.environ["PORT"]), debug=True)
''')


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode()
    except OSError:
        return None


def _wait_for(url: str, predicate: object, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = _get(url)
        if body is not None and predicate(body):  # type: ignore[operator]
            return body
        time.sleep(0.1)
    raise AssertionError(f"{url} never answered as expected within {timeout} s")


def test_reloader_restarts_the_child_when_a_source_file_changes(tmp_path: Path) -> None:
    app_file = tmp_path / "reload_app.py"
    app_file.write_text(APP.format(version=1))
    port = free_port()
    env = {**os.environ, "PORT": str(port), "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, str(app_file)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
    reader.start()
    url = f"http://127.0.0.1:{port}/version"
    try:
        first = _wait_for(url, lambda body: body.startswith("1 "), 20)
        child1 = int(first.split()[1])
        assert child1 != proc.pid  # the supervisor runs the app in a child
        time.sleep(0.2)
        app_file.write_text(APP.format(version=2))
        stamp = time.time() + 2  # a different mtime even on coarse file systems
        os.utime(app_file, (stamp, stamp))
        second = _wait_for(url, lambda body: body.startswith("2 "), 15)
        child2 = int(second.split()[1])
        assert child2 not in (child1, proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(timeout=5)
    output = "".join(lines)
    assert "Restarting with the socketio-core reloader" in output
    assert "Detected change in" in output and "reload_app.py" in output
    assert "Traceback" not in output, output
    # SIGTERM reached the child through the supervisor: the port is free again.
    assert _get(url) is None


def test_run_serves_on_the_configured_port_without_the_reloader(tmp_path: Path) -> None:
    app_file = tmp_path / "plain_app.py"
    app_file.write_text(textwrap.dedent('''
        import os
        from flask import Flask
        from socketio_core.flask import SocketIO

        app = Flask(__name__)
        app.config["SERVER_NAME"] = "127.0.0.1:" + os.environ["PORT"]
        socketio = SocketIO(app)

        @app.route("/pid")
        def pid():
            return str(os.getpid())

        @app.route("/stop")
        def stop():
            socketio.stop()
            return "stopping"

        socketio.run(app, use_reloader=False)
        print("run returned", flush=True)
    '''))
    port = free_port()
    env = {**os.environ, "PORT": str(port), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(app_file)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # The port comes from SERVER_NAME; there is no supervisor process.
        body = _wait_for(f"http://127.0.0.1:{port}/pid", lambda b: b.isdigit(), 20)
        assert int(body) == proc.pid
        # socketio.stop() from a route: run() returns once the server is down.
        assert _get(f"http://127.0.0.1:{port}/stop") == "stopping"
        output, _ = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, output
    assert f"Running on http://127.0.0.1:{port}" in output
    assert "run returned" in output and "Traceback" not in output, output


PLAIN_APP = textwrap.dedent('''
    from flask import Flask

    app = Flask(__name__)

    @app.route("/")
    def index():
        return "plain flask"
''')


def test_flask_run_of_an_app_without_socketio_is_flasks_own_command(tmp_path: Path) -> None:
    """Our ``run`` entry point replaces Flask's for every app: others must see no difference."""
    app_file = tmp_path / "plain.py"
    app_file.write_text(PLAIN_APP)
    port = free_port()
    flask = ROOT / ".venv" / "bin" / "flask"
    proc = subprocess.Popen([str(flask), "--app", str(app_file), "run", "--port", str(port)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert _wait_for(f"http://127.0.0.1:{port}/", lambda body: body == "plain flask", 20)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert "socketio-core" not in out
    assert "development server" in out  # Werkzeug's own banner
