"""A kept request's compact form (``HttpRequest.compact``) answers exactly as the parsed one.

A session keeps its handshake request for its whole life; compacted, it
holds its fields as one string and rebuilds ``header_map``, ``headers``,
``query`` and single ``header()`` lookups from it on demand (issue 19: the
parsed forms were ~1 KB of an idle connection). Whatever the head and
whichever parser read it (the fast one, h11's byte pairs, a header map
alone as the ASGI driver builds it), every view must be the same before and
after, and a lookup on the compact form must build nothing.
"""

from __future__ import annotations

import h11
from hypothesis import given, settings
from hypothesis import strategies as st

from transports._request import HttpRequest, _parse_head

NAMES = ["Host", "Origin", "Cookie", "X-A", "x-a", "Sec-WebSocket-Key", "Upgrade", "Connection"]
_values = st.text(alphabet="ab c:=,;/\t\x80é", max_size=12).map(lambda v: v.strip(" \t"))
_fields = st.lists(st.tuples(st.sampled_from(NAMES), _values), max_size=8)
_queries = st.sampled_from(["", "EIO=4&transport=websocket", "a=1&b=x%20y&a=2", "j=0&b64=1", "k"])


def _head(fields: list[tuple[str, str]], query: str) -> str:
    target = "/socket.io/" + (f"?{query}" if query else "")
    lines = [f"GET {target} HTTP/1.1", "Host: h"] + [f"{n}: {v}" for n, v in fields if n != "Host"]
    return "\r\n".join(lines) + "\r\n"


def _fast_request(text: str) -> HttpRequest | None:
    parsed = _parse_head(text)
    if parsed is None:
        return None
    method, target, fields, header_map, _ = parsed
    path, _, query = target.partition("?")
    return HttpRequest(method, target, path, query, None, ("127.0.0.1", 1), header_map=header_map,
                       fields=fields)


def _h11_request(text: str) -> HttpRequest | None:
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(text.encode("latin-1") + b"\r\n")
    try:
        event = conn.next_event()
    except h11.RemoteProtocolError:
        return None
    assert isinstance(event, h11.Request)
    target = event.target.decode("latin-1")
    path, _, query = target.partition("?")
    return HttpRequest(event.method.decode(), target, path, query, list(event.headers), ("127.0.0.1", 1))


def _views(request: HttpRequest) -> tuple[object, ...]:
    lookups = {name.lower(): request.header(name.lower()) for name in NAMES + ["absent"]}
    return (request.method, request.target, request.path, request.query_string, request.remote_addr,
            request.secure, dict(request.header_map), list(request.headers), dict(request.query), lookups,
            request.wants_websocket)


COUNTS = {"fast": 0, "h11": 0, "map": 0}


@settings(max_examples=300, deadline=None)
@given(_fields, _queries)
def test_every_view_of_a_compacted_request_is_the_parsed_one(fields: list[tuple[str, str]], query: str) -> None:
    text = _head(fields, query)
    builders = {"fast": _fast_request, "h11": _h11_request}
    for kind, build in builders.items():
        before = build(text)
        if before is None:
            continue
        COUNTS[kind] += 1
        expected = _views(before)
        kept = build(text)
        assert kept is not None
        kept.compact()
        assert kept._header_map is None and kept._fields is None and kept._headers is None
        assert kept._query is None
        # single lookups on the compact form build nothing
        for name in NAMES:
            kept.header(name.lower())
        assert kept._header_map is None
        assert _views(kept) == expected
        kept.compact()  # again (a kept request compacted twice): still the same
        assert _views(kept) == expected
    # a request known only by its header map (the ASGI driver's form)
    fast = _fast_request(text)
    if fast is not None:
        by_map = HttpRequest("GET", fast.target, fast.path, fast.query_string, header_map=dict(fast.header_map))
        expected_map = dict(by_map.header_map)
        by_map.compact()
        assert by_map.header_map == expected_map
        COUNTS["map"] += 1


def test_the_property_test_saw_both_parsers() -> None:
    assert COUNTS["fast"] > 50 and COUNTS["h11"] > 50 and COUNTS["map"] > 50, COUNTS


def test_compacting_shares_the_method_name_and_keeps_the_string_small() -> None:
    text = _head([("Upgrade", "websocket"), ("Sec-WebSocket-Key", "k" * 24)], "EIO=4&transport=websocket")
    request = _fast_request(text)
    assert request is not None
    shared = "".join(["/socket.io", "/"])
    request.compact(shared)
    assert request.method is "GET"  # noqa: F632  (the shared constant, not a copy per request)
    assert request.path is shared
    assert request._lines == "Host:h\r\nUpgrade:websocket\r\nSec-WebSocket-Key:" + "k" * 24 + "\r\n"


def test_setting_headers_replaces_the_compact_form() -> None:
    request = _fast_request(_head([("X-A", "1")], ""))
    assert request is not None
    request.compact()
    request.headers = [(b"x-b", b"2")]
    assert request.header("x-a") is None and request.header_map == {"x-b": "2"}
