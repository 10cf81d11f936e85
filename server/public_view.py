"""The public state as clients see it: ``/api/snapshot`` and the WebSocket ``snapshot`` message.

Both are built from the actor's published ``Board`` (never from mutable state) plus the settings
a client needs (SPEC §5), so the HTTP and WebSocket views can never drift apart.
"""

from __future__ import annotations

from engine.view import BOARD_FIELDS, Board
from server.models import ClientSettings, Snapshot


def snapshot(board: Board, settings: ClientSettings) -> Snapshot:
    """``/api/snapshot``'s body; the WebSocket snapshot adds ``me``."""
    data = {name: getattr(board, name) for name in BOARD_FIELDS}
    return Snapshot(**data, version=board.version, settings=settings)


def etag(board: Board) -> str:
    """The board's content is a function of the state version and the online count."""
    return f'"{board.state_version}-{board.online}"'
