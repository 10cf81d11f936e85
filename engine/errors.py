"""Domain errors of the game, defined once and raised by the engine.

Every error carries a stable ``code`` (the SPEC's error codes) and optional ``details``.
The server maps each code to an HTTP status and a WebSocket ``error`` message in one place
(``server/errors.py``); nothing else in the project decides how an error looks on the wire.

    GameError                  base: code, message, details, retry_after (None: no wait)
    ├── InvalidRequest         input that breaks a rule of SPEC §3-§5 ("invalid_request")
    ├── NotFound               no such player, round or job ("not_found")
    ├── Conflict               the request is valid but the state forbids it ("conflict")
    ├── RateLimited            a push or session too soon; carries retry_after ("rate_limited")
    ├── Banned                 the player is banned ("banned")
    ├── RoundNotActive         clicks between rounds ("round_not_active")
    ├── Paused                 an admin paused the whole game ("paused")
    └── Unavailable            not ready, or the journal cannot be written ("unavailable")
"""

from __future__ import annotations

from typing import Any


class GameError(Exception):
    """A refusal the caller can act on; the state is unchanged when one is raised."""

    code = "error"
    # Seconds before trying again (the Retry-After header): a RateLimited's, a busy server's.
    retry_after: float | None = None

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidRequest(GameError):
    code = "invalid_request"


class NotFound(GameError):
    code = "not_found"


class Conflict(GameError):
    code = "conflict"


class RateLimited(GameError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message, {"retry_after": round(retry_after, 3)})
        self.retry_after = retry_after


class Banned(GameError):
    code = "banned"


class RoundNotActive(GameError):
    code = "round_not_active"


class Paused(GameError):
    """An admin stopped the game (SPEC §8 emergency stop); pushes wait for the resume."""

    code = "paused"


class Unavailable(GameError):
    """The server cannot take the change now (state not loaded, journal not writable)."""

    code = "unavailable"
