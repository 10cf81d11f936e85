"""Tokens and keys (SPEC §5, §8): player JWTs, short-lived WebSocket tokens, the admin token.

Player and WebSocket tokens are HS256 JWTs with a ``typ`` claim, so one kind can never be used as
the other. Keys not given in the settings are generated once and kept in the data directory with
mode 0600, so tokens stay valid across restarts.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import jwt
from aiohttp import web

from server.errors import Unauthorized
from settings import Settings

log = logging.getLogger("ctb.auth")

PLAYER, WS = "player", "ws"
PLAYER_TTL = 365 * 86400
WS_TTL = 90
SECRET_FILE, ADMIN_FILE = "secret.key", "admin.token"


@dataclass(frozen=True, slots=True)
class Auth:
    secret: str
    admin_token: str


def _kept_secret(path: Path) -> tuple[str, bool]:
    """Read a key kept in the data directory, or make one (0600). Returns (key, created)."""
    try:
        value = path.read_text().strip()
        if value:
            return value, False
    except FileNotFoundError:
        pass
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    os.chmod(path, 0o600)
    return value, True


def load_auth(settings: Settings) -> Auth:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    secret = settings.secret_key
    if secret is None:
        secret, _ = _kept_secret(settings.data_dir / SECRET_FILE)
    admin = settings.admin_token
    if admin is None:
        path = settings.data_dir / ADMIN_FILE
        admin, created = _kept_secret(path)
        log.warning(
            "admin token %s %s",
            "generated in" if created else "read from",
            path,
            extra={"event": "admin_token", "path": str(path), "generated": created},
        )
    return Auth(secret=signing_key(secret), admin_token=admin)


def signing_key(secret: str) -> str:
    """The HS256 key made from ``SECRET_KEY``: its SHA-256, as hex.

    RFC 7518 §3.2 wants an HS256 key of at least 256 bits (PyJWT warns below that), while
    SECRET_KEY may be as short as 16 characters; hashing gives every secret the full length.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(auth: Auth, player_id: str, kind: str) -> str:
    now = int(time.time())
    ttl = WS_TTL if kind == WS else PLAYER_TTL
    claims = {"sub": player_id, "typ": kind, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, auth.secret, algorithm="HS256")


def verify(auth: Auth, token: str, kind: str) -> str:
    """The player id a valid token of ``kind`` names; Unauthorized for anything else."""
    return verify_until(auth, token, kind)[0]


def verify_until(auth: Auth, token: str, kind: str) -> tuple[str, float]:
    """``verify``, also returning when the token expires (for caching a verified token)."""
    try:
        claims = jwt.decode(
            token,
            auth.secret,
            algorithms=["HS256"],
            options={"require": ["sub", "typ", "exp"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("invalid token") from None
    if claims.get("typ") != kind or not isinstance(claims.get("sub"), str):
        raise Unauthorized(f"not a {kind} token")
    return claims["sub"], float(claims["exp"])


def bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token")
    return token.strip()


def is_admin(auth: Auth, token: str) -> bool:
    return hmac.compare_digest(token.encode(), auth.admin_token.encode())
