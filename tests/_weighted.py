"""A weighted choice between hypothesis strategies.

Repeating one strategy object in ``st.one_of`` does not make it more likely:
hypothesis keeps each object once, so ``one_of(a, a, a, b)`` draws ``a`` and
``b`` alike. Tests that meant "mostly ``a``" say so with :func:`weighted`.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy


def weighted(*choices: tuple[int, SearchStrategy[Any]]) -> SearchStrategy[Any]:
    """Draw from one of ``choices``, each ``(weight, strategy)`` taken in proportion to its weight.

    It shrinks towards the first choice, as ``one_of`` does.
    """
    pool = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.sampled_from(pool).flatmap(lambda strategy: strategy)
