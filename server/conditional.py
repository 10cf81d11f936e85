"""Conditional GETs (RFC 9110 §13.1.2) for the snapshot, the public reads and the static files.

aiohttp parses ``If-None-Match`` (``request.if_none_match``: the listed tags, or ``*``; a list
that turns to garbage half-way is read up to there); what is left here is the weak comparison
against the one tag a reply carries, which aiohttp leaves to the handler.
"""

from __future__ import annotations

from aiohttp import web


def not_modified(request: web.Request, tag: str) -> bool:
    """Whether the client holds ``tag`` already: ``If-None-Match`` lists it (weakly) or is ``*``."""
    listed = request.if_none_match
    if not listed:
        return False
    value = tag.removeprefix("W/").strip('"')
    return any(held.value == value or held.value == "*" for held in listed)
