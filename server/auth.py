"""Tokens and keys (SPEC §5, §8): player JWTs, short-lived WebSocket tokens, the admin tokens.

Player and WebSocket tokens are HS256 JWTs with a ``typ`` claim, so one kind can never be used as
the other. They are signed with ``SECRET_KEY`` as given (SPEC §5): at least 32 bytes, RFC 7518
§3.2's minimum for an HS256 key, so any JWT library given the same key makes the same tokens.
Keys not given in the settings are generated once (32 random bytes, URL-safe base64) and kept in
the data directory with mode 0600, so tokens stay valid across restarts. They are read and
written through the locked directory's descriptor (``persistence/data_dir.py``), like every
other file there, so they belong to the directory the server holds whatever happens to its path.
Admins have tokens of their own, each with a name (``ADMIN_TOKENS``; ``ADMIN_TOKEN``'s admin is
``admin``): the audit, the logs and the admin events say who did what by that name.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
from aiohttp import web

from persistence.data_dir import DataDir
from persistence.errors import StartupError
from server.errors import Unauthorized
from settings import DEFAULT_ADMIN, Settings

log = logging.getLogger("ctb.auth")

PLAYER, WS = "player", "ws"
ADMIN_WS = "admin_ws"  # the admin socket's handshake token (server/admin/ws.py); sub: admin name
ADMIN_DEVICE = "admin_device"  # a client that has used an admin token (admin_auth.py); sub: its id
PLAYER_TTL = 365 * 86400
WS_TTL = 90
DEVICE_TTL = 30 * 86400
SECRET_FILE, ADMIN_FILE = "secret.key", "admin.token"


KEY_MIN_BYTES = 32  # RFC 7518 §3.2: an HS256 key is at least as long as the hash (256 bits)


@dataclass(frozen=True, slots=True)
class Auth:
    secret: str  # the HS256 key: SECRET_KEY as given
    admin_token: str | None  # ADMIN_TOKEN (or the generated one): the admin named "admin"
    # Earlier versions signed with the SHA-256 (hex) of the key; a player's token lives a year and
    # is their only way back to their player, so tokens signed that way are still accepted.
    legacy_secret: str | None = None
    named_tokens: tuple[tuple[str, str], ...] = ()  # ADMIN_TOKENS: (name, token)

    @property
    def admins(self) -> tuple[tuple[str, str], ...]:
        """Every admin as (name, token): ADMIN_TOKEN's, named "admin", then ADMIN_TOKENS'."""
        single = () if self.admin_token is None else ((DEFAULT_ADMIN, self.admin_token),)
        return single + self.named_tokens


def _kept_secret(data_dir: DataDir, name: str) -> tuple[str, bool]:
    """Read a key kept in the data directory, or make one (0600). Returns (key, created)."""
    try:
        with data_dir.open_file(name, "r") as handle:
            value = handle.read().strip()
        if value:
            return value, False
    except FileNotFoundError:
        pass
    value = secrets.token_urlsafe(32)
    fd = data_dir.open_fd(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value, True


def check_secret_key(settings: Settings) -> None:
    """A SECRET_KEY given too short stops the start before anything is loaded."""
    given = settings.secret_key
    if given is not None and len(given.encode()) < KEY_MIN_BYTES:
        raise StartupError(f"SECRET_KEY must be at least {KEY_MIN_BYTES} bytes long")


def given_auth(settings: Settings) -> Auth:
    """A gateway's keys (SPEC §11): only as given, since a gateway keeps nothing on disk and no
    key ever travels through Redis. ``ROLE=all`` hands its children the engine's keys."""
    missing = [
        name
        for name, value in (
            ("SECRET_KEY", settings.secret_key),
            ("ADMIN_TOKEN or ADMIN_TOKENS", settings.admin_token or settings.admin_tokens),
        )
        if not value
    ]
    if missing:
        raise StartupError(
            f"a gateway needs {' and '.join(missing)} given (the same as the engine's): "
            "it keeps no keys of its own and never reads them from Redis"
        )
    assert settings.secret_key is not None
    legacy = hashlib.sha256(settings.secret_key.encode()).hexdigest()
    return Auth(settings.secret_key, settings.admin_token, legacy, settings.admin_tokens)


def load_auth(settings: Settings, data_dir: DataDir) -> Auth:
    """The keys: from the settings, else kept in ``data_dir`` (the directory the server holds)."""
    secret, source = settings.secret_key, "SECRET_KEY"
    if secret is None:
        secret, _ = _kept_secret(data_dir, SECRET_FILE)
        path = data_dir.where(SECRET_FILE)
        source = f"{path} (the key kept when SECRET_KEY is not set)"
    if len(secret.encode()) < KEY_MIN_BYTES:
        raise StartupError(f"{source} must be at least {KEY_MIN_BYTES} bytes long")
    admin = settings.admin_token
    if admin is None and not settings.admin_tokens:  # named tokens need no generated one
        admin, created = _kept_secret(data_dir, ADMIN_FILE)
        path = data_dir.where(ADMIN_FILE)
        log.warning(
            "admin token %s %s",
            "generated in" if created else "read from",
            path,
            extra={"event": "admin_token", "path": str(path), "generated": created},
        )
    legacy = hashlib.sha256(secret.encode()).hexdigest()
    return Auth(secret, admin, legacy, settings.admin_tokens)


def issue(auth: Auth, player_id: str, kind: str) -> str:
    now = int(time.time())
    ttl = WS_TTL if kind in (WS, ADMIN_WS) else DEVICE_TTL if kind == ADMIN_DEVICE else PLAYER_TTL
    claims = {"sub": player_id, "typ": kind, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, auth.secret, algorithm="HS256")


def verify(auth: Auth, token: str, kind: str) -> str:
    """The player id a valid token of ``kind`` names; Unauthorized for anything else."""
    return verify_until(auth, token, kind)[0]


def verify_until(auth: Auth, token: str, kind: str) -> tuple[str, float]:
    """``verify``, also returning when the token expires (for caching a verified token)."""
    try:
        try:
            claims = _decode(token, auth.secret)
        except jwt.InvalidSignatureError:
            if auth.legacy_secret is None:
                raise
            claims = _decode(token, auth.legacy_secret)
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("invalid token") from None
    if claims.get("typ") != kind or not isinstance(claims.get("sub"), str):
        raise Unauthorized(f"not a {kind} token")
    return claims["sub"], float(claims["exp"])


def _decode(token: str, key: str) -> dict[str, Any]:
    return jwt.decode(token, key, algorithms=["HS256"], options={"require": ["sub", "typ", "exp"]})


def bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token")
    return token.strip()


def admin_named(auth: Auth, token: str) -> str | None:
    """The name of the admin whose token ``token`` is, else None.

    Compared in constant time with every admin's token, all of them whichever matches, so the
    time says neither how much of a token was right nor which admin's it was.
    """
    given, found = token.encode(), None
    for name, known in auth.admins:
        if hmac.compare_digest(given, known.encode()):
            found = name
    return found
