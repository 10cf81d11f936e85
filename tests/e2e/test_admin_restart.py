"""The admin's state survives a crash and a shutdown of a real server process (SPEC §7, §8).

Audit, interventions, bans, a queued round, the pause and a bulk job caught mid-way all come
back; the job comes back ``interrupted`` with its progress and finishes once resumed.
``ADMIN_BULK_PACE`` slows the job so the process stops while it runs.
"""

from __future__ import annotations

import signal
import time
from typing import Any

import pytest

from tests.e2e.conftest import ADMIN_TOKEN, ServerProcess, call

pytestmark = pytest.mark.e2e
BOTH_MODES = True  # the single process, and one engine with two gateways (SPEC §11)

GHOSTS = 3000  # ids of no player: each is skipped, so the job's progress is all it does
WAIT = 20.0


def admin(server: ServerProcess, method: str, path: str, body: Any = None) -> Any:
    return call(server, method, path, body, ADMIN_TOKEN)


def poll(read: Any, done: Any) -> Any:
    """Read until ``done(value)``; the server gets there on its own (no fixed sleep)."""
    deadline = time.monotonic() + WAIT
    while True:
        value = read()
        if done(value):
            return value
        assert time.monotonic() < deadline, value
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_admin_state_comes_back_after_a_restart(server_process: ServerProcess, sig: int) -> None:
    """After kill -9 or SIGTERM the admin's state is as it was, the job interrupted."""
    server = server_process
    server.env.update(SESSIONS_PER_MINUTE="1000", ADMIN_BULK_PACE="0.2", ROUND_BREAK_SECONDS="0")
    server.start("--snapshot-interval", "3600")
    players = [call(server, "POST", "/api/session", {"name": f"p{i}"}) for i in range(2)]
    banned, flagged = (p["player"]["id"] for p in players)
    admin(server, "POST", f"/api/admin/players/{banned}/actions/ban", {"reason": "bot"})
    case = admin(server, "POST", "/api/admin/interventions", {"player_id": flagged, "reason": "r"})
    admin(server, "POST", "/api/admin/rounds", {"reason": "event", "target": 777})
    admin(server, "POST", "/api/admin/game/pause", {"reason": "maintenance"})
    ghosts = [f"g{i}" for i in range(GHOSTS)]
    job = admin(
        server, "POST", "/api/admin/bulk", {"action": "ban", "player_ids": ghosts, "reason": "x"}
    )
    job_path = f"/api/admin/bulk/{job['id']}"
    seen = poll(lambda: admin(server, "GET", job_path), lambda j: j["processed"] > 0)
    assert seen["status"] == "running"
    audit_before = admin(server, "GET", "/api/admin/audit?limit=500")["entries"]

    server.kill(sig)
    server.env["ADMIN_BULK_PACE"] = "0"
    server.start("--snapshot-interval", "3600")

    audit = admin(server, "GET", "/api/admin/audit?limit=500")["entries"]
    assert audit == audit_before  # every entry, exactly; a restart adds none
    actions = [e["action"] for e in audit]
    assert {"ban", "flag", "queue_round", "pause", "bulk_create"} <= set(actions)
    assert admin(server, "GET", f"/api/admin/players/{banned}")["player"]["status"] == "banned"
    cases = admin(server, "GET", "/api/admin/interventions")["interventions"]
    assert [c["id"] for c in cases] == [case["id"]] and cases[0]["player_id"] == flagged
    game = admin(server, "GET", "/api/admin/game")
    assert game["paused"] is True and game["reason"] == "maintenance"
    back = admin(server, "GET", job_path)
    assert back["status"] == "interrupted"
    assert seen["processed"] <= back["processed"] < GHOSTS
    assert back["done"] + back["skipped"] == back["processed"]

    admin(server, "POST", f"{job_path}/resume", {"reason": "go on"})
    done = poll(lambda: admin(server, "GET", job_path), lambda j: j["status"] != "running")
    assert done["status"] == "done" and done["processed"] == GHOSTS

    admin(server, "POST", "/api/admin/game/resume", {"reason": "back"})
    ended = call(server, "GET", "/api/snapshot")
    admin(server, "POST", "/api/admin/rounds/current/end", {"reason": "next"})
    snapshot = poll(  # the next round, once the public board shows it (a tick later, §11)
        lambda: call(server, "GET", "/api/snapshot"),
        lambda s: s["round"]["status"] == "active" and s["round"]["id"] != ended["round"]["id"],
    )
    assert snapshot["round"]["target"] == 777
