"""One reader cannot decide who may join: two processes flood the public leaderboard from two
addresses while new players arrive from a third (real server process, real sockets)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import ROOT, ServerProcess
from tests.e2e.test_connection_limits import until

FLOODERS = ("127.0.0.2", "127.0.0.3")  # all of 127/8 is loopback on Linux
LEADERBOARD = "/api/leaderboard?scope=all&limit=100"


@pytest.fixture
def flooders(server_process: ServerProcess) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def session(server: ServerProcess) -> int:
    """POST /api/session from 127.0.0.1; the status it got."""
    request = urllib.request.Request(
        server.url + "/api/session", b"{}", {"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_two_addresses_reading_the_leaderboard_flat_out_do_not_keep_new_players_out(
    server_process: ServerProcess, flooders: list[subprocess.Popen[bytes]]
) -> None:
    """With the overload mark set low enough that the flood surely trips it, the two flooding
    addresses are shed and at least 27 of 30 new players from a third address get a session."""
    # OVERLOAD_CPU so low that the flood trips it on any machine (an idle server uses well
    # under 1 % of a core): what is tested is who gets refused once it is tripped.
    server_process.env.update(OVERLOAD_CPU="0.02", SESSIONS_PER_MINUTE="1000")
    server_process.start()
    for source in FLOODERS:
        flooders.append(
            subprocess.Popen(
                [sys.executable, "-m", "tests.e2e.read_flood", str(server_process.port), source,
                 LEADERBOARD, "16"],
                cwd=ROOT, stdout=subprocess.PIPE,
            )
        )  # fmt: skip

    def shed() -> set[str]:
        log = server_process.log().splitlines()
        lines = (json.loads(line) for line in log if line.startswith("{"))
        return {line["address"] for line in lines if line.get("event") == "address_shed"}

    until(lambda: shed() == set(FLOODERS), timeout=60.0, what="both flooders shed")
    statuses = [session(server_process) for _ in range(30)]
    assert statuses.count(201) >= 27, statuses
    for proc in flooders:
        assert proc.poll() is None  # still flooding all along
        proc.send_signal(signal.SIGTERM)
    replies = [json.loads(proc.communicate(timeout=30)[0]) for proc in flooders]
    assert all(reply.get("429", 0) > 0 for reply in replies)  # shed, not served
    assert "127.0.0.1" not in shed()
