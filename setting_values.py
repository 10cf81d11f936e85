"""How each setting's raw text is read (``settings.py`` says which setting uses which reader).

A reader takes the setting's name and its raw text and returns the value, or raises
``SettingsError`` with a sentence that names the setting and says what is allowed.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


class SettingsError(ValueError):
    """A setting has a value the server cannot run with; the message names it."""


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def number(kind: type, low: float, high: float) -> Callable[[str, str], Any]:
    def parse(name: str, raw: str) -> Any:
        try:
            value = kind(raw)
        except ValueError:
            value = None
        if value is None or not low <= value <= high or value != value:
            what = "an integer" if kind is int else "a number"
            raise SettingsError(f"{name} must be {what} from {low:g} to {high:g}, got {raw!r}")
        return value

    return parse


def choice(options: Sequence[str], upper: bool = False) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.upper() if upper else raw.lower()
        if value not in options:
            raise SettingsError(f"{name} must be one of {', '.join(options)}, got {raw!r}")
        return value

    return parse


def networks(name: str, raw: str) -> tuple[Network, ...]:
    nets = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            nets.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise SettingsError(
                f"{name} must be a comma-separated list of addresses or networks, got {part!r}"
            ) from None
    return tuple(nets)


def text(min_len: int) -> Callable[[str, str], str | None]:
    def parse(name: str, raw: str) -> str | None:
        if raw == "":
            return None
        if len(raw) < min_len:
            raise SettingsError(f"{name} must be at least {min_len} characters long")
        return raw

    return parse


ADMIN_NAME = re.compile(r"[A-Za-z0-9_.-]{1,32}")
DEFAULT_ADMIN = "admin"  # the name ADMIN_TOKEN's admin goes by
RESERVED_ADMINS = ("system",)  # the audit's name for what no admin did (a ban running out)
ADMIN_TOKEN_MIN = 16


def admin_tokens(name: str, raw: str) -> tuple[tuple[str, str], ...]:
    """``alice:token1,bob:token2``: names 1-32 of letters, digits, _ . -; tokens 16+ characters."""
    pairs: list[tuple[str, str]] = []
    if not raw.strip():
        return ()
    for item in raw.split(","):
        admin, colon, token = item.strip().partition(":")
        if not colon or not ADMIN_NAME.fullmatch(admin):
            raise SettingsError(
                f"{name} must be name:token pairs separated by commas, each name 1-32 letters, "
                "digits, _, . or -"
            )
        if len(token) < ADMIN_TOKEN_MIN:
            raise SettingsError(f"{name}: the token of {admin} must be at least 16 characters")
        if admin in RESERVED_ADMINS:
            raise SettingsError(f"{name}: {admin!r} is reserved for the server's own changes")
        pairs.append((admin, token))
    names, tokens = [a for a, _ in pairs], [t for _, t in pairs]
    if len(set(names)) != len(names) or len(set(tokens)) != len(tokens):
        raise SettingsError(f"{name}: every admin needs a name and a token of their own")
    return tuple(pairs)


def key(min_bytes: int) -> Callable[[str, str], str | None]:
    """A signing key, used as given: long enough in bytes (RFC 7518 §3.2 for HS256)."""

    def parse(name: str, raw: str) -> str | None:
        if raw == "":
            return None
        if len(raw.encode()) < min_bytes:
            raise SettingsError(
                f"{name} must be at least {min_bytes} bytes long, got {len(raw.encode())}"
            )
        return raw

    return parse


def host(name: str, raw: str) -> str:
    if not raw.strip():
        raise SettingsError(f"{name} must not be empty")
    return raw.strip()


def path(name: str, raw: str) -> Path:
    if not raw.strip():
        raise SettingsError(f"{name} must not be empty")
    return Path(raw)


def redis_url(name: str, raw: str) -> str | None:
    if raw == "":
        return None
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError(f"{name} must be a redis://, rediss:// or unix:// URL, got {raw!r}")
    return raw


GATEWAY_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def gateway_id(name: str, raw: str) -> str:
    if not GATEWAY_ID.fullmatch(raw):
        raise SettingsError(f"{name} must be 1-64 letters, digits, _ . -, got {raw!r}")
    return raw
