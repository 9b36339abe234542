"""The small shared helpers: handler arity and ack value mapping."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from socketio_core.server import positional_count
from socketio_core.server._acks import AckWaiter, Gather, ack_args, ack_value
from socketio_core.server._calling import VARIADIC


def test_positional_count_table() -> None:
    def none() -> None: ...
    def one(a: Any) -> None: ...
    def two_and_kw(a: Any, b: Any = 1, *, c: Any = 2) -> None: ...
    def star(a: Any, *rest: Any) -> None: ...

    class Handler:
        def on_x(self, a: Any, b: Any) -> None: ...

    assert positional_count(none) == 0
    assert positional_count(one) == 1
    assert positional_count(two_and_kw) == 2
    assert positional_count(star) == VARIADIC
    assert positional_count(Handler().on_x) == 2  # bound: self is not counted
    assert positional_count(print) == VARIADIC


@given(st.lists(st.one_of(st.integers(), st.text(), st.none(), st.lists(st.integers()))))
def test_ack_value_and_ack_args_round_trip(args: list[Any]) -> None:
    value = ack_value(args)
    if len(args) == 1 and (args[0] is None or isinstance(args[0], tuple)):
        return  # None and a lone tuple are ambiguous by design (as in python-socketio)
    assert ack_args(value) == args


def test_gather_finishes_once_everyone_answered_or_left() -> None:
    done: list[dict[str, Any]] = []
    gather = Gather(["a", "b", "c"], done.append)
    gather.answer("a", (1,))
    gather.gone("b")
    assert done == []
    gather.answer("c", (1, 2))
    assert done == [{"a": 1, "c": (1, 2)}]
    gather.answer("a", (9,))
    gather.finish()
    assert done == [{"a": 1, "c": (1, 2)}]


def test_ack_waiter_passes_the_arguments_as_one_tuple() -> None:
    got: list[tuple[Any, ...]] = []
    waiter = AckWaiter(got.append, lambda: None)
    waiter("x", 2)
    assert got == [("x", 2)]
