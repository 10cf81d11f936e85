"""Crash and restart of a real server process: no acknowledged click is lost (SPEC §7).

The snapshot interval is an hour, so everything after start-up lives only in the journal when
the process dies. Pushes are spaced by more than half the push interval, as a page spaces them.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, SECRET_KEY, ServerProcess, call

pytestmark = pytest.mark.e2e
BOTH_MODES = True  # the single process, and one engine with two gateways (SPEC §11)

ARGS = ("--snapshot-interval", "3600", "--click-push-rate", "0.1", "--round-target", "1000000")
GAP = 0.06  # more than CLICK_PUSH_RATE x 0.5


def play(server: ServerProcess) -> dict[str, Any]:
    """Three players push a few batches each; returns their tokens and the acknowledged state."""
    tokens = [call(server, "POST", "/api/session", {"name": f"p{i}"})["token"] for i in range(3)]
    shown = board_clicks(server)
    acks: dict[str, dict[str, Any]] = {}
    for round_ in range(4):
        for i, token in enumerate(tokens):
            batch = f"p{i}-b{round_}"
            acks[batch] = call(
                server, "POST", "/api/push_clicks", {"batch_id": batch, "clicks": [i + 1, 2]}, token
            )
            assert acks[batch]["accepted"] == i + 3 and not acks[batch]["duplicate"]
        time.sleep(GAP)
    caught_up(server, shown + sum(a["accepted"] for a in acks.values()))
    return {"tokens": tokens, "acks": acks, **observe(server, tokens)}


def board_clicks(server: ServerProcess) -> int:
    return sum(p["total"] for p in call(server, "GET", "/api/snapshot")["planets"])


def caught_up(server: ServerProcess, clicks: int, deadline: float = 10.0) -> None:
    """Wait until the public board shows ``clicks``: with gateways (SPEC §11) it is the board
    the engine published at its last tick, a tick behind an acknowledgement at most."""
    give_up = time.monotonic() + deadline
    while board_clicks(server) != clicks:
        assert time.monotonic() < give_up, "the public board never showed the acknowledged clicks"
        time.sleep(0.05)


def observe(server: ServerProcess, tokens: list[str]) -> dict[str, Any]:
    """What a player and a spectator can see: each player object, and the planets' totals."""
    me = [call(server, "GET", "/api/me", token=t) for t in tokens]
    board = call(server, "GET", "/api/snapshot")
    return {
        "me": [(p["id"], p["score"], p["round_score"], p["planet"]) for p in me],
        "planets": {p["name"]: p["total"] for p in board["planets"]},
        "round": board["round"]["id"],
    }


def check_restored(server: ServerProcess, before: dict[str, Any]) -> None:
    """Scores, planet totals and batch ids after the restart are those acknowledged before."""
    after = observe(server, before["tokens"])
    assert after == {k: before[k] for k in ("me", "planets", "round")}
    assert sum(after["planets"].values()) == sum(a["accepted"] for a in before["acks"].values())
    retry = call(
        server,
        "POST",
        "/api/push_clicks",
        {"batch_id": "p2-b3", "clicks": [3, 2]},
        before["tokens"][2],
    )
    assert retry["duplicate"] and retry["score"] == before["acks"]["p2-b3"]["score"]
    time.sleep(GAP)
    fresh = call(
        server,
        "POST",
        "/api/push_clicks",
        {"batch_id": "p2-new", "clicks": [1]},
        before["tokens"][2],
    )
    assert not fresh["duplicate"] and fresh["score"] == retry["score"] + 1


def test_kill_9_loses_no_acknowledged_click(server_process: ServerProcess) -> None:
    """SIGKILL right after the last acknowledgement: the restart replays the journal and every
    acknowledged click, planet total and batch id is back."""
    server_process.start(*ARGS)
    before = play(server_process)
    assert server_process.kill(signal.SIGKILL) == -signal.SIGKILL
    assert not (server_process.data_dir / "snapshot.bin").exists()
    server_process.start(*ARGS)
    check_restored(server_process, before)


def test_sigterm_writes_a_final_snapshot_and_exits_0(server_process: ServerProcess) -> None:
    """SIGTERM stops cleanly with exit code 0 after a final snapshot; the restart loads it and
    has nothing left to replay."""
    server_process.start(*ARGS)
    before = play(server_process)
    assert server_process.kill(signal.SIGTERM) == 0
    assert (server_process.data_dir / "snapshot.bin").exists()
    lines = server_process.log().splitlines()
    stopped = [json.loads(line) for line in lines if '"event":"stopped"' in line]
    assert [(s["event"], s["saved"]) for s in stopped] == [("stopped", True)]
    server_process.start(*ARGS)
    check_restored(server_process, before)
    replays = [
        json.loads(line) for line in server_process.log().splitlines() if '"journal_replay"' in line
    ]
    assert replays and replays[-1]["records"] == 0


def run_once(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Start run.py and let it fail (or time out); for start-ups that must refuse."""
    return subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "--port", "1", "--data-dir", str(data_dir), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin", "SECRET_KEY": SECRET_KEY},
    )


def test_a_corrupt_snapshot_with_no_fallback_refuses_to_start(tmp_path: Path) -> None:
    """No valid state: exit 1 with a message naming the file and --start-empty; the bad file is
    kept, moved aside."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "snapshot.bin").write_bytes(b"CTBSNAP\0 not really a snapshot")
    done = run_once(data_dir)
    assert done.returncode == 1
    assert "snapshot.bin" in done.stderr and "--start-empty" in done.stderr
    moved = [p for p in data_dir.iterdir() if p.name.startswith("snapshot.bin.corrupt-")]
    assert len(moved) == 1 and moved[0].read_bytes().endswith(b"not really a snapshot")


def test_start_empty_starts_a_new_game_over_a_corrupt_snapshot(
    server_process: ServerProcess,
) -> None:
    """--start-empty: the server starts with an empty game and keeps the bad file aside."""
    data_dir = server_process.data_dir
    data_dir.mkdir(parents=True)
    (data_dir / "snapshot.bin").write_bytes(b"garbage")
    server_process.start("--start-empty")
    assert call(server_process, "GET", "/api/snapshot")["players_total"] == 0
    assert [p.name[:21] for p in data_dir.iterdir() if ".corrupt-" in p.name] == [
        "snapshot.bin.corrupt-"
    ]


def test_an_unusable_data_dir_refuses_to_start(tmp_path: Path) -> None:
    """DATA_DIR that cannot be a directory: a clear message and a non-zero exit."""
    (tmp_path / "file").write_text("x")
    done = run_once(tmp_path / "file" / "data")
    assert done.returncode == 1
    assert "run.py: DATA_DIR" in done.stderr and "file/data" in done.stderr
    assert "Traceback" not in done.stderr


def answering(server: ServerProcess, tokens: list[str]) -> list[str]:
    """The tokens whose player the server knows (``/api/me`` answers 200, not 401)."""
    known = []
    for token in tokens:
        try:
            call(server, "GET", "/api/me", token=token)
        except urllib.error.HTTPError as error:
            assert error.code == 401
            continue
        known.append(token)
    return known


def test_what_a_recovered_server_serves_survives_kill_9(server_process: ServerProcess) -> None:
    """A byte flipped in the middle of the last journal segment: the start-up keeps the records
    before the damage and makes them durable before serving, so after a later ``kill -9`` every
    player, score and batch id the recovered server served is back."""
    data_dir = server_process.data_dir
    server_process.start(*ARGS)
    first = play(server_process)
    assert server_process.kill(signal.SIGTERM) == 0  # a snapshot; the journal goes on after it
    server_process.start(*ARGS)
    second = play(server_process)
    assert server_process.kill(signal.SIGKILL) == -signal.SIGKILL
    last = max(p for p in data_dir.iterdir() if p.name.startswith("journal-"))
    damaged = bytearray(last.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    last.write_bytes(damaged)

    server_process.start(*ARGS)
    assert (
        [p.name for p in data_dir.iterdir() if ".corrupt-" in p.name]
        == [p.name for p in data_dir.iterdir() if p.name.startswith(last.name + ".corrupt-")]
        != []
    )
    tokens = answering(server_process, first["tokens"] + second["tokens"])
    assert first["tokens"] == tokens[:3]  # the snapshot's players; some later ones were lost
    tokens.append(call(server_process, "POST", "/api/session", {"name": "new"})["token"])
    shown = board_clicks(server_process)
    for i, token in enumerate(tokens):
        call(
            server_process, "POST", "/api/push_clicks", {"batch_id": f"r{i}", "clicks": [5]}, token
        )
    caught_up(server_process, shown + 5 * len(tokens))
    served = observe(server_process, tokens)
    assert server_process.kill(signal.SIGKILL) == -signal.SIGKILL

    server_process.start(*ARGS)
    assert answering(server_process, tokens) == tokens
    assert observe(server_process, tokens) == served
    again = call(
        server_process, "POST", "/api/push_clicks", {"batch_id": "r0", "clicks": [5]}, tokens[0]
    )
    assert again["duplicate"]
