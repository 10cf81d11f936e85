"""Conditional GETs (RFC 9110 §13.1.2): one comparison for the snapshot and the static files."""

from __future__ import annotations


def matches(if_none_match: str, tag: str) -> bool:
    """A weak comparison of ``tag`` against any tag listed in ``If-None-Match``, or ``*``."""
    bare = tag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == bare:
            return True
    return False
