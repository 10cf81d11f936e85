"""Errors of the saved game, defined once (SPEC §7).

Start-up errors stop the server with a sentence for the operator; file errors are what a reader
finds wrong with one file, and recovery decides what to do about it (move it aside, fall back).

    PersistenceError           base
    ├── StartupError           the server must not start: no valid state, unusable DATA_DIR
    │   └── IncompatibleFile   a file written by another version of the program
    ├── CorruptFile            a file failed its checks; carries the path and what is wrong
    └── JournalError           a change could not be written to the journal
"""

from __future__ import annotations

from pathlib import Path


class PersistenceError(Exception):
    """Anything the persistence layer refuses or cannot do."""


class StartupError(PersistenceError):
    """The saved state cannot be loaded and the server must not start; the message says why."""


class IncompatibleFile(StartupError):
    """A well-formed file this version cannot read; it is left in place, never moved aside."""


class CorruptFile(PersistenceError):
    """A file that fails its magic, length or checksum check, or does not decode."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path.name}: {reason}")
        self.path = path
        self.reason = reason


class JournalError(PersistenceError):
    """The journal could not take a turn's records; the actor refuses their acknowledgements."""
