"""Start-up errors of the store: a directory in use, not a directory, or out of reach."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from persistence import snapshot
from persistence.errors import StartupError
from persistence.store import open_store, release_lock
from tests.conftest import run_in_child
from tests.persistence.conftest import settings_for
from tests.persistence.games import PLANETS

NOBODY = 65534  # the unprivileged user and group of Debian and most Linux systems


def test_a_second_server_on_the_same_directory_is_refused(tmp_path: Path) -> None:
    """The DATA_DIR lock keeps two servers from writing the same journal."""
    first = open_store(settings_for(tmp_path), PLANETS)
    with pytest.raises(StartupError, match="in use"):
        open_store(settings_for(tmp_path), PLANETS)
    first.journal.close()
    release_lock(first.data_dir)


def test_a_data_dir_that_is_not_a_directory_is_a_clear_error(tmp_path: Path) -> None:
    """DATA_DIR under a regular file cannot be created: the error names it."""
    (tmp_path / "file").write_text("x")
    with pytest.raises(StartupError, match=r"DATA_DIR .*file/data cannot be used"):
        open_store(settings_for(tmp_path / "file" / "data"), PLANETS)


def start_unprivileged(data_dir: Path) -> str:
    """``open_store`` on ``data_dir`` in a child process; the StartupError's text, or "started".

    Root reads and writes any directory, so when the tests run as root (as CI does) the child
    first drops to the unprivileged ``nobody`` user: the permission check is then the kernel's.
    """

    def scenario() -> str:
        if os.geteuid() == 0:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
        try:
            open_store(settings_for(data_dir), PLANETS)
        except StartupError as error:
            return str(error)
        return "started"

    return run_in_child(scenario)


@pytest.mark.parametrize("mode", [0o000, 0o300, 0o500], ids=["no-access", "no-read", "no-write"])
def test_a_data_dir_without_permission_is_a_clear_error(mode: int) -> None:
    """A DATA_DIR the server may not list or write stops start-up with the reason and is left
    exactly as it was: its files are neither read, moved nor replaced."""
    parent = Path(tempfile.mkdtemp())
    data_dir = parent / "data"
    try:
        parent.chmod(0o755)  # only DATA_DIR itself is out of reach, not the way to it
        data_dir.mkdir()
        (data_dir / snapshot.CURRENT).write_bytes(b"the operator's snapshot")
        if os.geteuid() == 0:
            os.chown(data_dir, NOBODY, NOBODY)  # the mode is then about the child's own user
        data_dir.chmod(mode)
        outcome = start_unprivileged(data_dir)
        data_dir.chmod(0o700)
        assert f"DATA_DIR {data_dir} cannot be" in outcome
        assert os.listdir(data_dir) == [snapshot.CURRENT]
        assert (data_dir / snapshot.CURRENT).read_bytes() == b"the operator's snapshot"
    finally:
        data_dir.chmod(0o700)
        shutil.rmtree(parent)
