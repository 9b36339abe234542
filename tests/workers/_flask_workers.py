"""A Flask app served by ``socketio.run(app, port=PORT, workers=2)``.

usage: python _flask_workers.py PORT

``GET /pid`` answers the serving worker's pid; the Socket.IO event ``bcast``
is emitted back to every client (``broadcast=True``), whichever worker
holds it.
"""

import os
import sys

from flask import Flask

from socketio_core.flask import SocketIO, emit

app = Flask(__name__)
socketio = SocketIO(app)


@app.route("/pid")
def pid() -> str:
    return str(os.getpid())


@socketio.on("bcast")
def bcast(data: object) -> None:
    emit("bcast", data, broadcast=True)


if __name__ == "__main__":
    socketio.run(app, port=int(sys.argv[1]), workers=2)
