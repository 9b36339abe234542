"""The fast event builder builds exactly what each class's own constructor builds."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engineio._events import MessageReceived
from engineio._handshake import Request, _request
from engineio._session import _message_event
from engineio._util import trusted_builder
from socketio_core.protocol._connection import EventReceived, _event_received
from socketio_core.protocol._packets import Packet, PacketType, _make_packet

_values = st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.binary(max_size=5)
_json = st.recursive(_values, lambda inner: st.lists(inner, max_size=3), max_leaves=5)

#: Every user of the builder: (class, its builder, a strategy for its fields in order).
USERS: list[tuple[type, Callable[..., Any], Any]] = [
    (MessageReceived, _message_event, st.tuples(st.text(max_size=8) | st.binary(max_size=8))),
    (
        Request,
        _request,
        st.tuples(st.sampled_from(["polling", "websocket"]), st.text(max_size=8), st.booleans(), st.sampled_from([3, 4])),
    ),
    (
        EventReceived,
        _event_received,
        st.tuples(st.text(max_size=8), st.lists(_json, max_size=3), st.none() | st.integers(0, 10**15)),
    ),
    (
        Packet,
        _make_packet,
        st.tuples(st.sampled_from(list(PacketType)), st.text(max_size=8), _json, st.none() | st.integers(0, 10**15)),
    ),
]


@pytest.mark.parametrize(("cls", "build", "fields"), USERS, ids=lambda x: getattr(x, "__name__", ""))
def test_the_fast_built_object_equals_the_normally_built_one(
    cls: type, build: Callable[..., Any], fields: Any
) -> None:
    names = [field.name for field in dataclasses.fields(cls)]

    @settings(max_examples=100, deadline=None)
    @given(values=fields)
    def check(values: tuple[Any, ...]) -> None:
        fast = build(*values)
        normal = cls(**dict(zip(names, values)))
        assert type(fast) is cls
        assert fast == normal
        assert repr(fast) == repr(normal)
        if _hashable(values):
            assert hash(fast) == hash(normal)
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(fast, names[0], values[0])

    check()


def _hashable(values: tuple[Any, ...]) -> bool:
    try:
        hash(values)
    except TypeError:
        return False
    return True


@dataclasses.dataclass(frozen=True, slots=True)
class _Checked:
    value: int

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError("negative")


@dataclasses.dataclass(frozen=True)
class _NoSlots:
    value: int


@dataclasses.dataclass(slots=True)
class _Mutable:
    value: int


@dataclasses.dataclass(frozen=True, slots=True)
class _Five:
    a: int
    b: int
    c: int
    d: int
    e: int


@pytest.mark.parametrize("cls", [_Checked, _NoSlots, _Mutable, _Five, int])
def test_classes_whose_init_does_more_are_refused(cls: type) -> None:
    with pytest.raises(TypeError):
        trusted_builder(cls)


def test_inherited_base_and_field_order() -> None:
    @dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
    class Base:
        pass

    @dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
    class Pair(Base):
        first: str
        second: int = 0

    assert trusted_builder(Pair)("x", 2) == Pair(first="x", second=2)
