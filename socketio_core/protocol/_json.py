"""JSON as JavaScript writes and reads it: the defaults of the packet codec.

The encoder side is JSON.stringify: compact, non-ASCII left alone, NaN and
+-Infinity refused here (the encoder rewrites them to ``null``), and a
buffer reported by raising :class:`BinaryFound` from the ``default`` hook,
so the encoder walks the data for attachments only when there are some.
The decoder side is JSON.parse: NaN and Infinity refused, and a scanner that
parses one value at an index without slicing the text.
"""

from __future__ import annotations

import json
import json.encoder
import json.scanner
import re
from typing import Any, Final

from ._packets import _BUFFER_TYPES, Dumps

__all__ = ["BinaryFound"]


class BinaryFound(Exception):
    """A JSON encoder met a buffer: the packet needs attachments.

    The default encoder raises it from its ``default`` hook; an injected
    ``dumps`` may raise it too, and say so (``dumps_finds_binary``), so that
    :func:`encode_packet` need not walk the data for buffers first.
    """


_BinaryFound = BinaryFound


def _not_json(obj: object) -> Any:
    # The encoder's ``default`` hook: called only for values JSON cannot hold.
    if isinstance(obj, _BUFFER_TYPES):
        raise _BinaryFound
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _build_default_dumps() -> Dumps:
    """Return the fastest available JSON.stringify-compatible serialiser.

    JSON.stringify is compact and leaves non-ASCII alone. NaN and Infinity
    raise ValueError here (Python would write invalid JSON); encode_packet
    then rewrites them to ``null`` as JSON.stringify does. ``JSONEncoder.encode`` rebuilds the C encoder on every call; keeping
    one C encoder ourselves halves the cost of a small event. That constructor
    is an implementation detail of CPython, so it is used only if it exists
    and provably produces the same text; otherwise we fall back.
    """
    portable = json.JSONEncoder(
        separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_not_json
    ).encode
    make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
    if make_encoder is None:  # pragma: no cover - CPython always has it
        return portable
    try:
        # markers=None: no circular-reference bookkeeping; a cycle instead
        # ends in RecursionError, which encode_packet reports as our misuse.
        chunks = make_encoder(
            None, _not_json, json.encoder.encode_basestring, None, ":", ",", False, False, False
        )
    except Exception:  # pragma: no cover - signature changed in some CPython
        return portable

    def dumps(obj: Any) -> str:
        return "".join(chunks(obj, 0))

    probe = ["é\u2028\n\"\\", {"a": [1, 2.5, -0.0, None, True, 10**20], "": {}}, []]
    try:
        if dumps(probe) == portable(probe):
            return dumps
    except Exception:  # pragma: no cover
        pass
    return portable  # pragma: no cover


_default_dumps: Final = _build_default_dumps()


def _reject_constant(name: str) -> Any:
    # JSON.parse has no NaN / Infinity; Python's decoder accepts them by default.
    raise ValueError(f"{name} is not valid JSON")


_DEFAULT_DECODER: Final = json.JSONDecoder(parse_constant=_reject_constant)
# The scanner parses one value at an index without slicing the text and
# without the whitespace regexes of ``decode``; it raises StopIteration when
# there is no value at that index.
# (typeshed types its argument as a scanner; it takes the decoder, duck-typed.)
_scanner_context: Any = _DEFAULT_DECODER
_default_scan: Final = json.scanner.make_scanner(_scanner_context)

# Python strings may hold lone surrogates (e.g. decoded from "\ud800"), which
# ensure_ascii=False would emit raw: not encodable as UTF-8, and not what
# JSON.stringify writes (it escapes them, in lower case).
_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def _escape_surrogate(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"
