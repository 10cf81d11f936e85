"""Player tokens already verified, so a page's push every second costs a dict lookup, not a JWT.

Checking an HS256 JWT with PyJWT takes tens of microseconds of pure Python (base64, JSON, HMAC,
claim checks): a fifth of the time of a whole ``POST /api/push_clicks`` (see bench/http_bench.py).
A page sends the same token with every push, so the result is kept by the exact token string,
signature included: only a string this server has verified itself can hit. The expiry is still
checked on every hit, and the cache holds a bounded number of tokens, dropping the oldest first.
A plain dict in insertion order does that; ``cachetools.TLRUCache`` with each token's expiry
would too, at 4.1 µs a lookup against 1.3 µs here (``bench/library_bench.py``), on every push.

A request made once per socket (``POST /api/ws-token``) reads the cache but does not fill it: a
client that plays over its WebSocket would leave its token in the cache for nothing, about
650 bytes a player (the token, the decoded id, the entry) up to ``MAX_TOKENS``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from server.errors import Unauthorized

MAX_TOKENS = 20_000


@dataclass(slots=True)
class TokenCache:
    """Maps a verified token to ``(player_id, expires_at)``; insertion order is age."""

    max_tokens: int = MAX_TOKENS
    _known: dict[str, tuple[str, float]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._known)

    def player(
        self,
        token: str,
        verify: Callable[[str], tuple[str, float]],
        now: Callable[[], float] = time.time,
        remember: bool = True,
    ) -> str:
        """The player id of ``token``, verifying it with ``verify`` unless known and unexpired;
        a token verified here is kept for the next request if ``remember``."""
        known = self._known.get(token)
        if known is not None:
            if now() < known[1]:
                return known[0]
            del self._known[token]
            raise Unauthorized("token expired")
        player_id, expires_at = verify(token)
        if not remember:
            return player_id
        self._known[token] = (player_id, expires_at)
        if len(self._known) > self.max_tokens:
            del self._known[next(iter(self._known))]
        return player_id
