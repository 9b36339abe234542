"""A JSON codec on orjson, for one server: ``Server(json="orjson")``.

orjson (installed by the ``fast`` extra) writes what JavaScript's
JSON.stringify writes for the values both support: compact, non-ASCII left
alone, dict order kept, NaN and +-Infinity as ``null``. For the values it
refuses and the built-in encoder takes (integers beyond 64 bits, strings
with lone surrogates, non-string dict keys, nesting past orjson's 254
levels) ``dumps`` falls back to the built-in encoder, so the choice of codec
never changes what a server can send. datetimes and dataclasses are refused
as the built-in encoder refuses them (orjson would serialise them on its own;
UUIDs and enums it still does). Floats are written as the shortest text that
reads back the same number, like both other encoders, but exponents differ:
orjson writes ``1e-7`` like JavaScript where the built-in encoder writes
``1e-07``; both write ``1e+16`` and ``3.0`` where JavaScript writes
``10000000000000000`` and ``3``. The value a peer reads is the same.

``loads`` is orjson's, with the built-in parser as fallback for the valid
JSON orjson refuses (numbers beyond float range, lone surrogate escapes).
Integers beyond 64 bits come back as floats, as JSON.parse reads them.

``dumps`` raises :class:`BinaryFound` on a buffer (``finds_binary``), so the
encoder finds attachments without walking the data first. Sans-IO.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Final

from ._json import _DEFAULT_DECODER, BinaryFound, _default_dumps
from ._packets import Dumps, Loads

__all__ = ["OrjsonCodec"]

_BUFFERS: Final = (bytes, bytearray, memoryview)


def _refuse(obj: object) -> Any:
    # orjson's ``default`` hook: only called for what it does not serialise.
    if isinstance(obj, _BUFFERS):
        raise BinaryFound
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


class OrjsonCodec:
    """orjson as a ``json=`` codec (``dumps``/``loads``); see the module docstring.

    Raises ImportError, naming the extra to install, when orjson is missing.
    """

    __slots__ = ("dumps", "loads")

    #: ``dumps`` raises BinaryFound on buffers: no walk for binary needed.
    finds_binary: Final = True

    def __init__(self) -> None:
        try:
            orjson: Any = import_module("orjson")
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError(
                "OrjsonCodec needs orjson: pip install 'socketio-core[fast]'"
            ) from exc
        orjson_dumps = orjson.dumps
        orjson_loads = orjson.loads
        encode_error = orjson.JSONEncodeError
        decode_error = orjson.JSONDecodeError
        options = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
        fallback_loads = _DEFAULT_DECODER.decode

        def dumps(obj: Any) -> str:
            try:
                text: str = orjson_dumps(obj, default=_refuse, option=options).decode()
                return text
            except encode_error as exc:
                if type(exc.__cause__) is BinaryFound:
                    raise BinaryFound from None
            # Valid for the built-in encoder, refused by orjson (or invalid:
            # then the built-in encoder raises the error the caller reports).
            return _default_dumps(obj)

        def loads(text: str) -> Any:
            try:
                return orjson_loads(text)
            except decode_error:
                return fallback_loads(text)

        self.dumps: Dumps = dumps
        self.loads: Loads = loads
