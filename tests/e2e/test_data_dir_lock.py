"""One data directory, one server: a second real server process is refused (SPEC §7)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, SECRET_KEY, ServerProcess, free_port

pytestmark = pytest.mark.e2e


def start_beside(data_dir: Path) -> subprocess.CompletedProcess[str]:
    """A second ``run.py`` on ``data_dir`` with a port of its own; it must exit by itself."""
    return subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "--host", "127.0.0.1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={
            "PATH": "/usr/bin:/bin",
            "PORT": str(free_port()),
            "DATA_DIR": str(data_dir),
            "SECRET_KEY": SECRET_KEY,
        },
    )


def test_a_second_server_is_refused_even_after_the_lock_file_was_removed(
    server_process: ServerProcess,
) -> None:
    """Deleting ``ctb.lock`` under a running server does not let a second one start on the same
    directory: it exits 1 saying the directory is in use, and the first one keeps serving."""
    server_process.start()
    (server_process.data_dir / "ctb.lock").unlink()
    try:
        done = start_beside(server_process.data_dir)
    except subprocess.TimeoutExpired:
        pytest.fail("the second server started beside the first")
    assert done.returncode == 1, done.stderr
    assert "in use by another server" in done.stderr
    assert server_process.proc is not None and server_process.proc.poll() is None
    server_process.wait_ready()
