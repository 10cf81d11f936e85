"""TEMPORARY stub (replaced by the supervisor branch)."""

from __future__ import annotations

from collections.abc import Callable


def arm() -> None:
    return None


def watch(on_gone: Callable[[], None]) -> None:
    return None
