"""Stateful fuzzing of :class:`socketio_core.Connection`: the per-client Socket.IO state.

Hypothesis feeds one connection a mix of well-formed packets (encoded by our
own encoder, attachments included) and mutilated or random ones, and plays
the server's side at random too: accepting or refusing namespaces,
disconnecting, emitting events and acks with arbitrary data, letting time
pass. After every step:

* the only exception from ``receive`` is socketio_core.RemoteSocketIOError,
  and from the server-side methods LocalSocketIOError where they document it
  (a namespace not in the right state, data the protocol cannot express);
* the namespace table agrees with a model rebuilt from the events and the
  server's own calls, never holds more than ``max_namespaces``, and the
  connect deadline exists exactly until a namespace is accepted;
* ConnectTimedOut comes at most once, only if no namespace was joined in time;
* every wire item the connection produces decodes with a fresh
  ``PacketDecoder`` back to the packet that was meant.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import event as event_stat
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from socketio_core import LocalSocketIOError, Packet, PacketDecoder, PacketType, RemoteSocketIOError
from socketio_core.protocol._connection import (
    AckReceived,
    ConnectRequested,
    Connection,
    ConnectTimedOut,
    DisconnectRequested,
    EventReceived,
    NamespaceState,
)
from socketio_core.protocol._encoder import encode_packet

T0 = 500.0
NAMESPACES = ["/", "/a", "/b", "/c", "/d", "/e"]

# ------------------------------------------------------------------ values

json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)
# Values our encoder accepts on the way out: binary anywhere, tuples for lists.
out_value = st.recursive(
    st.one_of(json_leaf, st.binary(max_size=6)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=5), inner, max_size=4),
    ),
    max_leaves=12,
)
event_name = st.one_of(
    st.text(max_size=8).filter(lambda n: n not in ("connect", "disconnect", "connect_error")),
    st.integers(0, 99),
    st.sampled_from(["connect", "disconnect", "newListener", True, None]),  # refused
)
namespace = st.sampled_from(NAMESPACES + ["bad", "/with,comma"])
ack_id = st.one_of(st.none(), st.integers(0, 10**15 - 1), st.sampled_from([-1, 10**15]))


def _normal(value: Any) -> Any:
    """What a value looks like after a JSON round trip (tuples become lists)."""
    if isinstance(value, (list, tuple)):
        return [_normal(v) for v in value]
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return value


def decode_wires(wires: list[str | bytes]) -> Packet:
    """Feed Engine.IO message items to a fresh decoder; exactly the last one completes."""
    assert wires, "no wire items"
    decoder = PacketDecoder()
    first = wires[0]
    assert isinstance(first, str) and first[:1] == "4", first
    packet = decoder.receive_text(first[1:])
    for item in wires[1:]:
        assert packet is None, "attachments after a complete packet"
        assert isinstance(item, bytes), item
        packet = decoder.receive_binary(item)
    assert packet is not None, "packet still waiting for attachments"
    return packet


# ------------------------------------------------------------ peer input


@st.composite
def client_packet(
    draw: st.DrawFn, namespaces: list[str] | None = None
) -> list[str | bytes]:
    """A well-formed packet a client could send, as Engine.IO message data."""
    kind = draw(st.sampled_from(["connect", "connect", "event", "event", "ack", "disconnect"]))
    ns = draw(st.sampled_from(namespaces or NAMESPACES))
    if kind == "connect":
        auth = draw(st.one_of(st.none(), st.dictionaries(st.text(max_size=4), json_value, max_size=3)))
        packet = Packet(type=PacketType.CONNECT, namespace=ns, data=auth)
    elif kind == "disconnect":
        packet = Packet(type=PacketType.DISCONNECT, namespace=ns)
    elif kind == "event":
        args = draw(st.lists(out_value, max_size=3))
        name = draw(st.one_of(st.text(max_size=6), st.integers(0, 9)).filter(
            lambda n: n not in ("connect", "disconnect", "connect_error", "disconnecting",
                                "newListener", "removeListener")))
        packet = Packet(type=PacketType.EVENT, namespace=ns, data=[name, *args],
                        id=draw(st.one_of(st.none(), st.integers(0, 1000))))
    else:
        packet = Packet(type=PacketType.ACK, namespace=ns, data=draw(st.lists(out_value, max_size=3)),
                        id=draw(st.integers(0, 1000)))
    text, attachments = encode_packet(packet)
    return [text, *attachments]


@st.composite
def mutated(draw: st.DrawFn) -> list[str | bytes]:
    """A well-formed packet, then cut, spliced, duplicated or with attachments lost."""
    items = draw(client_packet())
    text = items[0]
    assert isinstance(text, str)
    how = draw(st.sampled_from(["cut", "insert", "replace", "drop-attachments", "extra-binary"]))
    if how == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    elif how == "insert":
        i = draw(st.integers(0, len(text)))
        text = text[:i] + draw(st.text("0123456789-/,[]{}\":ab_placeholdernum", max_size=6)) + text[i:]
    elif how == "replace" and text:
        i = draw(st.integers(0, len(text) - 1))
        text = text[:i] + draw(st.characters()) + text[i + 1 :]
    elif how == "drop-attachments":
        return [text]
    else:
        return [text, *items[1:], draw(st.binary(max_size=4))]
    return [text, *items[1:]]


garbage = st.lists(
    st.one_of(st.text(max_size=30), st.binary(max_size=8)), min_size=1, max_size=3
)
peer_input = st.one_of(client_packet(), client_packet(), mutated(), garbage)


class ConnectionMachine(RuleBasedStateMachine):
    @initialize(
        connect_timeout=st.sampled_from([1.0, 45.0]),
        max_namespaces=st.sampled_from([1, 3, 100]),
        max_attachments=st.sampled_from([1, 2, 10]),
    )
    def start(self, connect_timeout: float, max_namespaces: int, max_attachments: int) -> None:
        self.now = T0
        self.max_namespaces = max_namespaces
        self.decoder = PacketDecoder(max_attachments=max_attachments, max_depth=8)
        self.conn = Connection(
            self.now,
            connect_timeout=connect_timeout,
            decoder=self.decoder,
            max_namespaces=max_namespaces,
        )
        self.model: dict[str, NamespaceState] = {}
        self.joined_once = False
        self.timed_out = 0
        self.broken = False  # the peer broke the protocol: the server would close now
        self.last_ack_id = -1

    # -------------------------------------------------------------- peer

    @rule(items=peer_input)
    def receive(self, items: list[str | bytes]) -> None:
        self.feed(items)

    @rule(data=st.data())
    def receive_on_joined(self, data: st.DataObject) -> None:
        """A packet for a namespace the client asked for (the likely case)."""
        joined = sorted(self.model) or ["/"]
        self.feed(data.draw(st.one_of(client_packet(joined), client_packet(joined), mutated())))

    @rule(ns=st.sampled_from(NAMESPACES), sid=st.text("abc", min_size=1, max_size=3))
    def join(self, ns: str, sid: str) -> None:
        """The common path in one step: the client asks, the server accepts."""
        self.feed(["0" if ns == "/" else f"0{ns},"])
        self.accept(ns, sid)

    def feed(self, items: list[str | bytes]) -> None:
        for item in items:
            try:
                self.conn.receive(item)
            except RemoteSocketIOError as exc:
                # A log line: short and single-line, whatever the peer sent.
                assert exc.reason and "\n" not in exc.reason and len(exc.reason) < 200, exc.reason
                self.broken = True
            self.collect()

    def collect(self) -> None:
        while (event := self.conn.next_event()) is not None:
            kind = type(event)
            event_stat(kind.__name__)
            if kind is ConnectRequested:
                assert self.model.get(event.namespace) is None
                assert isinstance(event.auth, dict)
                self.model[event.namespace] = NamespaceState.CONNECTING
            elif kind is DisconnectRequested:
                assert self.model.pop(event.namespace) is NamespaceState.CONNECTED
            elif kind is EventReceived:
                assert self.model.get(event.namespace) is NamespaceState.CONNECTED
                assert isinstance(event.data, list) and event.data
                assert event.ack_id is None or event.ack_id >= 0
            elif kind is AckReceived:
                assert self.model.get(event.namespace) is NamespaceState.CONNECTED
                assert isinstance(event.args, list) and event.ack_id >= 0
            else:
                assert kind is ConnectTimedOut, event
                self.timed_out += 1
                assert not self.joined_once

    # ------------------------------------------------------- server side

    @rule(ns=namespace, sid=st.text("abcdefXYZ0123_-", min_size=1, max_size=20))
    def accept(self, ns: str, sid: str) -> None:
        try:
            wires = self.conn.accept(ns, sid)
        except LocalSocketIOError:
            assert self.model.get(ns) is not NamespaceState.CONNECTING
            return
        assert self.model.get(ns) is NamespaceState.CONNECTING
        self.model[ns] = NamespaceState.CONNECTED
        self.joined_once = True
        packet = decode_wires(wires)
        assert (packet.type, packet.namespace, packet.data) == (PacketType.CONNECT, ns, {"sid": sid})

    @rule(ns=namespace, message=st.text(max_size=10), data=st.one_of(st.none(), json_value))
    def refuse(self, ns: str, message: str, data: Any) -> None:
        try:
            wires = self.conn.refuse(ns, message, data)
        except LocalSocketIOError:
            assert not (ns.startswith("/") and "," not in ns)
            return
        if self.model.get(ns) is NamespaceState.CONNECTING:
            del self.model[ns]
        packet = decode_wires(wires)
        assert packet.type is PacketType.CONNECT_ERROR and packet.namespace == ns
        expected = {"message": message} if data is None else {"message": message, "data": data}
        assert packet.data == expected

    @rule(ns=namespace)
    def disconnect(self, ns: str) -> None:
        wires = self.conn.disconnect(ns)
        was = self.model.pop(ns, None)
        if was is NamespaceState.CONNECTED:
            packet = decode_wires(wires)
            assert (packet.type, packet.namespace, packet.data) == (PacketType.DISCONNECT, ns, None)
        else:
            assert wires == []

    @rule(ns=namespace, name=event_name, args=st.lists(out_value, max_size=3), ack=ack_id)
    def emit(self, ns: str, name: Any, args: list[Any], ack: int | None) -> None:
        data = [name, *args]
        try:
            wires = self.conn.event(ns, data, ack)
        except LocalSocketIOError:
            return  # a reserved or non-scalar name, a bad namespace or ack id: refused
        packet = decode_wires(wires)
        event_stat(f"emit with {len(wires) - 1} attachments" if len(wires) < 3 else "emit with 2+ attachments")
        assert packet.type in (PacketType.EVENT, PacketType.BINARY_EVENT)
        assert (packet.namespace, packet.id) == (ns, ack)
        assert packet.data == _normal(data)

    @rule(ns=namespace, args=st.lists(out_value, max_size=3), ack=ack_id)
    def ack(self, ns: str, args: list[Any], ack: int | None) -> None:
        try:
            wires = self.conn.ack(ns, ack, args)  # type: ignore[arg-type]
        except LocalSocketIOError:
            assert ack is None or not 0 <= ack < 10**15 or not (ns.startswith("/") and "," not in ns)
            return
        packet = decode_wires(wires)
        assert packet.type in (PacketType.ACK, PacketType.BINARY_ACK)
        assert (packet.namespace, packet.id, packet.data) == (ns, ack, _normal(args))

    @rule()
    def new_ack_id(self) -> None:
        ack = self.conn.new_ack_id()
        assert ack == self.last_ack_id + 1
        self.last_ack_id = ack

    # -------------------------------------------------------------- time

    @rule(dt=st.one_of(st.floats(0.0, 2.0), st.floats(0.0, 100.0)))
    def time_passes(self, dt: float) -> None:
        self.now += dt
        due = self.conn.next_deadline()
        if due is not None and due <= self.now:
            self.conn.handle_timeout(self.now)
            self.collect()
        after = self.conn.next_deadline()
        assert after is None or after > self.now

    # -------------------------------------------------------- invariants

    @invariant()
    def namespaces_agree_with_the_model(self) -> None:
        assert self.conn.namespaces == self.model
        assert len(self.conn.namespaces) <= self.max_namespaces
        for ns in self.model:
            assert self.conn.connected(ns) == (self.model[ns] is NamespaceState.CONNECTED)

    @invariant()
    def connect_deadline(self) -> None:
        assert self.timed_out <= 1
        if self.joined_once:
            assert self.conn.next_deadline() is None

    @invariant()
    def decoder_state(self) -> None:
        assert self.decoder.pending_attachments >= 0


TestConnectionMachine = ConnectionMachine.TestCase
TestConnectionMachine.settings = settings(
    max_examples=300,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
