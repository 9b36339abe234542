"""Peer-supplied text made safe to put in a log line.

A header value, a request target, a namespace name: anything a client chose
can carry terminal escape sequences (``\\x1b[2J``), a CR or LF that forges a
second log line, or bidirectional-override characters that make a line read
differently from what it says. Every log call that quotes the peer passes
the value through :func:`peer_text`, which leaves ordinary text as it is and
writes everything unprintable as a Python escape, so a log line shows exactly
what arrived and nothing more. Long values are cut: a log is not a place to
store a 16 KB header.
"""

from __future__ import annotations

__all__ = ["peer_text"]

#: Characters of peer text kept in a log line; the rest is counted, not shown.
MAX_LOGGED = 200


def peer_text(value: object, limit: int = MAX_LOGGED) -> str:
    """``value`` as a single printable line of at most about ``limit`` characters.

    ``bytes`` are shown as latin-1 (one character per byte, so every byte is
    visible); anything else through ``str()``. Printable text is returned
    unchanged; otherwise each unprintable character (controls, DEL, line
    separators, format characters such as U+202E) becomes ``\\xNN``,
    ``\\uNNNN`` or ``\\UNNNNNNNN``, and a backslash is doubled so that an
    escape in the output always means an escaped character. Never raises.
    """
    if isinstance(value, (bytes, bytearray)):
        text = bytes(value).decode("latin-1")
    elif isinstance(value, str):
        text = value
    else:
        try:
            text = str(value)
        except Exception:  # a hostile __str__ must not break the log line
            text = object.__repr__(value)
    extra = len(text) - limit
    if extra > 0:
        text = text[:limit]
    if not text.isprintable() or "\\" in text:
        text = "".join([c if c.isprintable() and c != "\\" else _escape(c) for c in text])
    if extra > 0:
        text += f"... ({extra} more)"
    return text


def _escape(char: str) -> str:
    code = ord(char)
    if char == "\\":
        return "\\\\"
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
