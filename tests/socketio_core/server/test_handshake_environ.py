"""The handshake's WSGI environ is built on first use, not per connection (issue 19).

Built eagerly it was a tenth of an idle connection's memory (every header again
under an ``HTTP_*`` name) for an environ most handlers never read. These tests
hold the lazy one to the eager one (:func:`wsgi_environ` of the same request)
and check that a connection whose handlers do not ask for it never builds it.
"""

from __future__ import annotations

from typing import Any

import pytest

from socketio_core import Server
from socketio_core.server._sockets import Handshake, wsgi_environ

from ._fakes import FakeEngineSocket, connect


def _esock(name: str) -> FakeEngineSocket:
    esock = FakeEngineSocket(name)
    esock.request.header_map = {"x-app": "tests", "content-type": "text/plain", "cookie": "a=1"}
    return esock


def test_a_connection_whose_handlers_do_not_read_it_never_builds_the_environ() -> None:
    sio = Server(namespaces="*")
    sid = connect(sio, _esock("e1"), "/")
    handshake = sio.handshake(sid)
    assert handshake._environ is None
    assert handshake.headers["x-app"] == "tests" and handshake.address == "127.0.0.1"
    assert handshake._environ is None  # reading the handshake's own fields does not build it


def test_the_lazy_environ_is_the_eager_one_and_is_kept() -> None:
    sio = Server()
    esock = _esock("e1")
    seen: dict[str, Any] = {}

    @sio.on("connect")
    def on_connect(sid: str, environ: Any) -> None:
        seen.update(app=environ["HTTP_X_APP"], cookie=environ.get("HTTP_COOKIE"))

    sid = connect(sio, esock, "/")
    assert seen == {"app": "tests", "cookie": "a=1"}
    handshake = sio.handshake(sid)
    assert handshake.environ == wsgi_environ(esock.request)
    assert handshake.environ is handshake.environ
    handshake.environ["saved_session"] = {"user": 1}  # integrations store things in it
    assert sio.get_environ(sid) is handshake.environ
    assert sio.get_environ(sid)["saved_session"] == {"user": 1}  # type: ignore[index]


def test_mapping_access_reads_the_same_keys_as_before() -> None:
    sio = Server(namespaces="*")
    sid = connect(sio, _esock("e1"), "/")
    handshake = sio.handshake(sid)
    assert "environ" in handshake and handshake["environ"] is handshake.environ
    assert "headers" in handshake and "REMOTE_ADDR" in handshake
    # what the handshake keeps to build the environ is not one of its keys
    assert "request" not in handshake and handshake.get("request") is None
    assert "_environ" not in handshake and handshake.get("_environ", "-") == "-"


def test_a_handshake_without_a_request_has_an_empty_environ_or_the_one_given() -> None:
    bare = Handshake(headers={}, query={}, address="", secure=False, url="/", issued=0.0)
    assert bare.environ == {}
    given = Handshake(headers={}, query={}, address="", secure=False, url="/", issued=0.0,
                      _environ={"HTTP_X": "1"})
    assert given.environ == {"HTTP_X": "1"} and given["HTTP_X"] == "1"


def _compact_request() -> Any:
    from transports._request import HttpRequest

    request = HttpRequest(
        "GET", "/socket.io/?EIO=4&transport=websocket&token=t1", "/socket.io/",
        "EIO=4&transport=websocket&token=t1", None, ("10.0.0.9", 5555),
        fields=[("Host", "h"), ("X-App", "tests"), ("Cookie", "a=1"), ("x-app", "again")],
    )
    request.compact()  # as the Engine.IO session keeps it
    return request


def test_headers_and_query_stay_in_the_compact_request_until_read() -> None:
    """A connection whose handlers read neither parses neither (issue 19: ~1 KB per idle connection)."""
    sio = Server(namespaces="*")
    esock = FakeEngineSocket("e1")
    esock.request = _compact_request()  # type: ignore[assignment]
    sid = connect(sio, esock, "/")
    handshake = sio.handshake(sid)
    assert esock.request._header_map is None and esock.request._query is None
    assert handshake.address == "10.0.0.9" and handshake.url.endswith("token=t1")
    assert esock.request._header_map is None and esock.request._query is None
    assert handshake.headers == {"host": "h", "x-app": "tests, again", "cookie": "a=1"}
    assert handshake.query == {"EIO": "4", "transport": "websocket", "token": "t1"}
    assert handshake.headers is handshake.headers and handshake["query"] is handshake.query
    assert handshake.environ["HTTP_X_APP"] == "tests, again"


def test_a_handshake_is_read_only_and_compares_by_its_fields() -> None:
    request = _compact_request()
    lazy = Handshake(address="a", secure=False, url="/u", issued=1.0, request=request)
    given = Handshake(headers=dict(request.header_map), query=dict(request.query), address="a", secure=False,
                      url="/u", issued=1.0, auth={})
    assert lazy == given and lazy.auth == {} and lazy.auth_sent
    assert lazy != Handshake(headers={}, query={}, address="a", secure=False, url="/u", issued=1.0)
    assert "headers={'host': 'h'" in repr(lazy)
    for name in ("headers", "address", "auth", "request"):
        with pytest.raises(AttributeError):
            setattr(lazy, name, None)
    with pytest.raises(TypeError):
        hash(lazy)

