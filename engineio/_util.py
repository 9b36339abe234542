"""The one speed trick for value objects: building a frozen dataclass without its ``__init__``.

Events and packets are frozen, slotted dataclasses (h11's model). A frozen
dataclass's ``__init__`` sets each field through ``object.__setattr__``,
which costs about as much again as the rest of a small hot path. Where the
parser has already produced and checked the values (h11's ``_parsed=True``
case), :func:`trusted_builder` makes the same object by writing the slots
directly: at a third to a half of the cost, and equal to what the class's own
constructor builds (``tests/engineio/test_util.py`` checks every user).

It is only correct for a class whose ``__init__`` does nothing but store
its fields: a frozen, slotted dataclass without ``__post_init__``, which
:func:`trusted_builder` checks once, when the builder is made.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, TypeVar

__all__ = ["trusted_builder"]

T = TypeVar("T")


def trusted_builder(cls: type[T]) -> Callable[..., T]:
    """A function taking ``cls``'s fields positionally, in order, and returning the instance.

    No validation and no defaults: every field is passed. Raises TypeError
    when ``cls`` is not a frozen, slotted dataclass without ``__post_init__``
    or has more than four fields.
    """
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a frozen, slotted dataclass")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__ the builder would skip")
    setters = [_slot(cls, field.name).__set__ for field in dataclasses.fields(cls)]  # type: ignore[arg-type]
    new: Any = object.__new__
    # One closure per arity: a loop over the setters would cost what we save.
    if len(setters) == 1:
        (set0,) = setters

        def build1(a: Any) -> T:
            obj: T = new(cls)
            set0(obj, a)
            return obj

        return build1
    if len(setters) == 2:
        set0, set1 = setters

        def build2(a: Any, b: Any) -> T:
            obj: T = new(cls)
            set0(obj, a)
            set1(obj, b)
            return obj

        return build2
    if len(setters) == 3:
        set0, set1, set2 = setters

        def build3(a: Any, b: Any, c: Any) -> T:
            obj: T = new(cls)
            set0(obj, a)
            set1(obj, b)
            set2(obj, c)
            return obj

        return build3
    if len(setters) == 4:
        set0, set1, set2, set3 = setters

        def build4(a: Any, b: Any, c: Any, d: Any) -> T:
            obj: T = new(cls)
            set0(obj, a)
            set1(obj, b)
            set2(obj, c)
            set3(obj, d)
            return obj

        return build4
    raise TypeError(f"{cls.__name__} has {len(setters)} fields; the builder takes 1 to 4")


def _slot(cls: type, name: str) -> Any:
    """The slot descriptor of field ``name`` (on ``cls`` or the base that declares it)."""
    for klass in cls.__mro__:
        if name in klass.__dict__.get("__slots__", ()):
            return klass.__dict__[name]
    raise TypeError(f"{cls.__name__}.{name} is not a slot")
