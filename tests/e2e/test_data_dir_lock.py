"""One data directory, one server: a second real server process is refused, and a directory
moved or replaced under a running server never makes two servers write one directory or one
server write two (SPEC §7)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, SECRET_KEY, ServerProcess, call, free_port

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


SWAP_ENV = {"SESSIONS_PER_MINUTE": "1000", "SNAPSHOT_INTERVAL": "0.3"}
WAIT = 30.0  # seconds; only a broken run waits this long


def poll(read: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
    """Read until ``done(value)``; the servers get there on their own (no fixed sleep)."""
    deadline = time.monotonic() + WAIT
    while True:
        value = read()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"{what}: {value}"
        time.sleep(0.05)


def join(server: ServerProcess, prefix: str, count: int) -> dict[str, tuple[str, int]]:
    """``count`` new players who each push once; their tokens and acknowledged scores."""
    players = {}
    for i in range(count):
        session = call(server, "POST", "/api/session", {"name": f"{prefix}{i}"})
        body = {"batch_id": f"{prefix}-b{i}", "clicks": [i + 1]}
        ack = call(server, "POST", "/api/push_clicks", body, session["token"])
        assert ack["accepted"] == i + 1
        players[session["player"]["id"]] = (session["token"], ack["score"])
    return players


def state_version(server: ServerProcess) -> int:
    with urllib.request.urlopen(server.url + "/api/snapshot", timeout=10) as response:
        return int(response.headers["ETag"].strip('"').split("-")[0])


def saved_version(server: ServerProcess) -> int:
    """The state version of the newest snapshot the server's log reports written."""
    written = [json.loads(line) for line in server.log().splitlines() if '"snapshot"' in line]
    return max((line["version"] for line in written if line["event"] == "snapshot"), default=-1)


def ready_status(server: ServerProcess) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(server.url + "/readyz", timeout=5) as response:
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())["error"]["message"]


def found(server: ServerProcess, players: dict[str, tuple[str, int]]) -> dict[str, int | None]:
    """Each player's score as ``server`` knows it; None for a player it does not know."""
    scores: dict[str, int | None] = {}
    for player_id, (token, _) in players.items():
        try:
            scores[player_id] = call(server, "GET", "/api/me", token=token)["score"]
        except urllib.error.HTTPError as error:
            assert error.code == 401, error
            scores[player_id] = None
    return scores


def test_a_swapped_directory_keeps_each_servers_players_in_the_directory_it_was_given(
    tmp_path: Path,
) -> None:
    """``mv DATA_DIR DATA_DIR-moved; mkdir DATA_DIR`` under server A, then server B on the new
    DATA_DIR: after snapshots on both and ``kill -9`` of both, every player A acknowledged is
    found in DATA_DIR-moved and every player B acknowledged in DATA_DIR, neither in the other;
    meanwhile A serves on and its /readyz says DATA_DIR no longer leads to its data."""
    data, moved = tmp_path / "data", tmp_path / "data-moved"
    first = ServerProcess(data_dir=data, env=dict(SWAP_ENV))
    second = ServerProcess(data_dir=data, env=dict(SWAP_ENV))
    try:
        first.start()
        of_first = join(first, "a", 3)
        os.rename(data, moved)
        data.mkdir()
        second.start()
        of_second = join(second, "b", 4)
        of_first |= join(first, "late", 3)  # acknowledged by A after its directory moved
        _, why = poll(lambda: ready_status(first), lambda s: s[0] == 503, "A's readiness")
        assert "no longer the directory this server holds" in why
        assert ready_status(second) == (200, "")
        for server in (first, second):
            version = state_version(server)
            poll(lambda s=server: saved_version(s), lambda v, v0=version: v >= v0, "a snapshot")
        assert '"data_dir_moved"' in first.log()
        first.kill()
        second.kill()
    finally:
        first.stop()
        second.stop()

    acknowledged = {pid: score for pid, (_, score) in (of_first | of_second).items()}
    for path, own, other in ((moved, of_first, of_second), (data, of_second, of_first)):
        again = ServerProcess(data_dir=path, env=dict(SWAP_ENV))
        try:
            again.start()
            assert found(again, own) == {pid: acknowledged[pid] for pid in own}
            assert set(found(again, other).values()) == {None}
        finally:
            again.stop()
