"""RoutingEndpoint's fast path (a session the engine holds is this worker's) against its general check.

Every request of a worker's own sessions passes through RoutingEndpoint, so
it skips the sid-prefix check for a sid the engine holds. Here random
requests (own sids held or not, other workers' sids, malformed sids, no sid,
reused connections) go through ``handle`` and ``answers_in_hub`` and must be
decided exactly as the general check :meth:`RoutingEndpoint.foreign` decides
them; the test also counts how often the fast path answered. No sockets: the
engine, the connection and the supervisor are stand-ins.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from transports._request import HttpRequest
from transports.gevent._cluster._worker import RoutingEndpoint

WID = 3
PATH = "/socket.io/"


class _Engine:
    """The parts of the engine RoutingEndpoint uses; records what it was asked."""

    def __init__(self, sessions: dict[str, Any], in_hub: bool) -> None:
        self.sessions = sessions
        self.scheduler: Any = None
        self.in_hub = in_hub
        self.handled: list[HttpRequest] = []

    def matches(self, path: str) -> bool:
        return path.startswith(PATH)

    def handle(self, http: Any, request: HttpRequest) -> bool:
        self.handled.append(request)
        return True

    def answers_in_hub(self, request: HttpRequest) -> bool:
        return self.in_hub

    def close_all(self) -> None:
        pass


class _Http:
    """A connection that may already have carried a request here (``_cluster_served``)."""


_HELD = ["3.held1", "3.held2"]
sids = st.one_of(
    st.sampled_from(_HELD),                                          # own, held: the fast path
    st.sampled_from(["3.gone", "5.other", "33.x", "12.y", "abc", "", "-1.x", "12345678.x", "3",
                     "3.", ".x", "3%2Eheld1"]),
    st.text(alphabet="0123456789.abcx%", max_size=10),
)
queries = st.one_of(
    st.builds(lambda sid, before: f"{before}sid={sid}", sids, st.sampled_from(["", "EIO=4&", "EIO=4&transport=polling&"])),
    st.builds(lambda a, b: f"EIO=4&sid={a}&sid={b}", sids, sids),   # the parser picks one
    st.builds(lambda sid: f"EIO=4&xsid={sid}", sids),                 # "sid=" present, no sid
    st.just("EIO=4&transport=polling"),                               # a handshake
)


def _request(query: str, path: str) -> HttpRequest:
    return HttpRequest("GET", f"{path}?{query}", path, query, [])


def test_fast_path_decides_as_the_general_check() -> None:
    counts = {"requests": 0, "fast": 0}

    @settings(max_examples=400, deadline=None)
    @given(query=queries, path=st.sampled_from([PATH, "/other"]), served=st.booleans(),
           in_hub=st.booleans())
    def check(query: str, path: str, served: bool, in_hub: bool) -> None:
        engine = _Engine({sid: object() for sid in _HELD}, in_hub)
        given_back: list[HttpRequest] = []
        endpoint = RoutingEndpoint(engine, WID, lambda http, request: given_back.append(request))  # type: ignore[arg-type]
        general = endpoint.foreign  # the reference, and a count of when handle needed it
        general_calls = []

        def counted(http: Any, request: HttpRequest) -> bool:
            general_calls.append(request)
            return general(http, request)

        endpoint.foreign = counted  # type: ignore[method-assign]
        http = _Http()
        if served:
            http._cluster_served = True  # type: ignore[attr-defined]
        expected_foreign = general(http, _request(query, path))
        # answers_in_hub: never for a request with another worker's sid, else the engine's answer.
        has_foreign_sid = "sid=" in query and general(_Http(), _request(query, path))
        assert endpoint.answers_in_hub(_request(query, path)) == (in_hub and not has_foreign_sid)

        request = _request(query, path)
        result = endpoint.handle(http, request)  # type: ignore[arg-type]
        assert (given_back == [request]) == expected_foreign
        assert (engine.handled == [request]) == (not expected_foreign)
        assert result == (not expected_foreign)
        assert endpoint.passed_on == int(expected_foreign)
        if not expected_foreign:
            assert getattr(http, "_cluster_served", False)
        counts["requests"] += 1
        counts["fast"] += not general_calls

    check()
    # The fast path must really answer (a test that only saw it decline would prove nothing).
    assert counts["fast"] >= counts["requests"] // 10, counts
