"""A full disk under a real server process: readiness comes back by itself (SPEC §7)."""

from __future__ import annotations

import json
import resource
import time
import urllib.error
import urllib.request

import pytest

from tests.e2e.conftest import ServerProcess, call

pytestmark = pytest.mark.e2e

WAIT = 30.0  # seconds; only a broken run waits this long


def ready_status(server: ServerProcess) -> int:
    try:
        with urllib.request.urlopen(server.url + "/readyz", timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def until_ready(server: ServerProcess, status: int) -> None:
    """Poll /readyz (a read, never a write) until it answers ``status``."""
    deadline = time.monotonic() + WAIT
    while ready_status(server) != status:
        assert time.monotonic() < deadline, f"/readyz never answered {status}"
        time.sleep(0.05)


def push(server: ServerProcess, token: str, batch_id: str) -> int:
    try:
        call(server, "POST", "/api/push_clicks", {"batch_id": batch_id, "clicks": [2]}, token)
    except urllib.error.HTTPError as error:
        return error.code
    return 200


def test_readyz_returns_once_the_disk_has_room_with_no_client_write(
    server_process: ServerProcess,
) -> None:
    """With the journal's file held at its size by the kernel (RLIMIT_FSIZE set on the running
    process, as a full disk) a push is refused and /readyz answers 503; once the limit is lifted,
    /readyz answers 200 again within seconds while no client writes anything, and the next push
    is acknowledged."""
    server = server_process
    server.start("--snapshot-interval", "3600")
    token = call(server, "POST", "/api/session", {"name": "ann"})["token"]
    assert server.proc is not None
    pid = server.proc.pid
    [segment] = server.data_dir.glob("journal-*.log")
    soft, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (segment.stat().st_size, hard))
    try:
        assert push(server, token, "b1") == 503
        assert ready_status(server) == 503
    finally:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (soft, hard))
    until_ready(server, 200)
    probes = [json.loads(line) for line in server.log().splitlines() if "journal_probe_ok" in line]
    assert len(probes) == 1 and "too large" in probes[0]["failed_with"]
    assert push(server, token, "b2") == 200
    assert call(server, "GET", "/api/me", token=token)["score"] == 2
