"""A FastAPI application with Socket.IO mounted: socketio_core.AsyncServer as an ASGI app.

    ../../.venv/bin/python app.py                   # uvicorn on http://127.0.0.1:8000
    ../../.venv/bin/uvicorn app:app --port 8000     # the same, from uvicorn's command
    ../../.venv/bin/hypercorn app:app -b 127.0.0.1:8000

The page (``GET /``) loads the official browser client from this app
(``/socket.io.min.js``), joins the default namespace, and offers an echo form
and a broadcast form; ``POST /announce?text=...`` is a plain FastAPI route
that broadcasts to every connected page.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse

import socketio_core
from socketio_core.echo._app import client_script_path

HERE = Path(__file__).parent

sio = socketio_core.AsyncServer(cors_allowed_origins="*")
api = FastAPI(title="socketio-core FastAPI chat")


@api.get("/", response_class=HTMLResponse)
async def index() -> HTMLResponse:
    return HTMLResponse((HERE / "static" / "index.html").read_text("utf-8"))


@api.get("/socket.io.min.js", response_model=None)
async def client_script() -> FileResponse | PlainTextResponse:
    script = client_script_path()  # the npm package's build (`make npm`), served from here: no CDN
    if script is None:
        return PlainTextResponse("socket.io.min.js is not installed: run `make npm`", status_code=404)
    return FileResponse(script, media_type="application/javascript")


@api.post("/announce")
async def announce(text: str) -> dict[str, int]:
    """A REST route that talks to every connected page."""
    await sio.emit("my response", {"data": f"announce: {text}"})
    return {"clients": len(sio.local_sockets())}


@sio.event
async def connect(sid: str, environ: dict, auth: dict | None) -> None:
    await sio.emit("my response", {"data": "Connected"}, to=sid)


@sio.on("my event")
async def my_event(sid: str, message: dict) -> str:
    await sio.emit("my response", {"data": message.get("data")}, to=sid)
    return "echoed"  # the client's ack, if it asked for one


@sio.on("my broadcast event")
async def my_broadcast_event(sid: str, message: dict) -> None:
    await sio.emit("my response", {"data": message.get("data")})


# Socket.IO at /socket.io/, every other path to FastAPI.
app = sio.asgi_app(api)  # or socketio_core.ASGIApp(sio, api)

if __name__ == "__main__":
    import uvicorn

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    uvicorn.run(app, host="127.0.0.1", port=port)
