"""Authentication of the admin namespace: credentials, bcrypt hashes, sessions.

The Admin UI sends ``{"username", "password"}`` in the CONNECT packet's auth,
or, once it was given a session id (the ``session`` event), ``{"sessionId"}``
when it reconnects. Checking a bcrypt hash costs tens of milliseconds of CPU:
it runs in gevent's thread pool (the ``bcrypt`` package releases the GIL), so
the other clients of the hub are not held up meanwhile.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections import OrderedDict
from time import monotonic
from typing import Any, Callable, Union

import gevent

__all__ = ["AuthOption", "Authenticator", "SessionStore", "make_authenticator"]

#: ``False``, ``{"type": "basic", "username": ..., "password": <bcrypt hash>}``
#: (``"hashed": False`` for a plain-text password), or ``fn(credentials) -> bool``.
AuthOption = Union[bool, dict[str, Any], Callable[[dict[str, Any]], bool], None]

_BCRYPT_HASH = re.compile(r"\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}")


class SessionStore:
    """Session ids handed to authenticated admins, valid for ``ttl`` seconds.

    At most ``max_sessions`` are kept (the oldest go first), so a flood of
    logins cannot grow it without bound.
    """

    def __init__(self, ttl: float = 86400.0, max_sessions: int = 10_000) -> None:
        self.ttl = ttl
        self.max_sessions = max_sessions
        self._expiry: OrderedDict[str, float] = OrderedDict()

    def new_session(self) -> str:
        session_id = secrets.token_hex(16)
        self._expiry[session_id] = monotonic() + self.ttl
        while len(self._expiry) > self.max_sessions:
            self._expiry.popitem(last=False)
        return session_id

    def exists(self, session_id: Any) -> bool:
        if not isinstance(session_id, str):
            return False
        expiry = self._expiry.get(session_id)
        if expiry is None:
            return False
        if expiry < monotonic():
            del self._expiry[session_id]
            return False
        return True


class Authenticator:
    """Decides whether CONNECT credentials may open the admin namespace."""

    def __init__(self, check: Callable[[dict[str, Any]], bool], store: SessionStore) -> None:
        self._check = check
        self.store = store

    def authenticate(self, credentials: dict[str, Any]) -> tuple[bool, str | None]:
        """``(accepted, new session id or None)``; may block the calling greenlet."""
        if self.store.exists(credentials.get("sessionId")):
            return True, None
        if self._check(credentials):
            return True, self.store.new_session()
        return False, None


def _equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _basic_check(options: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    username = options.get("username")
    password = options.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise ValueError("basic authentication needs `username` and `password` strings")
    if options.get("hashed", True) is False:
        def plain(credentials: dict[str, Any]) -> bool:
            user, given = credentials.get("username"), credentials.get("password")
            if not isinstance(user, str) or not isinstance(given, str):
                return False
            # Both compared, whatever the first answer: no timing hint about the username.
            return _equal(user, username) & _equal(given, password)

        return plain
    if not _BCRYPT_HASH.fullmatch(password):
        raise ValueError(
            "the `password` field must be a valid bcrypt hash "
            "(or pass \"hashed\": False for a plain-text password)"
        )
    try:
        import bcrypt
    except ImportError:
        raise RuntimeError(
            "basic authentication with a bcrypt hash needs the `bcrypt` package: "
            "pip install 'socketio-core[admin]' (or pip install bcrypt)"
        ) from None
    hashed = password.encode("ascii")

    def check_hash(credentials: dict[str, Any]) -> bool:
        user, given = credentials.get("username"), credentials.get("password")
        if not isinstance(user, str) or not isinstance(given, str) or not _equal(user, username):
            return False
        try:
            result = gevent.get_hub().threadpool.apply(bcrypt.checkpw, (given.encode("utf-8"), hashed))
        except ValueError:
            return False
        return bool(result)

    return check_hash


def make_authenticator(auth: AuthOption, store: SessionStore | None = None) -> Authenticator | None:
    """Validate the ``auth`` option of :func:`~socketio_core.admin.instrument` (None: no auth)."""
    if auth is None or auth is True:
        raise ValueError("the `auth` option must be given, or explicitly set to False")
    if auth is False:
        return None
    if callable(auth):
        user_check = auth

        def custom(credentials: dict[str, Any]) -> bool:
            return bool(user_check(credentials))

        return Authenticator(custom, store or SessionStore())
    if isinstance(auth, dict) and auth.get("type") == "basic":
        return Authenticator(_basic_check(auth), store or SessionStore())
    raise ValueError('invalid `auth` option: False, {"type": "basic", ...} or a function')
