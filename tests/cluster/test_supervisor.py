"""ROLE=all as an operator runs it (SPEC §11): one parent, an engine and gateways as real
processes, killed and stopped with real signals."""

from __future__ import annotations

import fcntl
import os
import re
import signal
from collections.abc import Callable

import pytest

from cluster.supervisor import Child, machine_name
from settings import Settings
from tests.cluster.conftest import Cluster, environ, eventually, gone, port_free


def test_the_pause_before_a_restart_doubles_up_to_five_seconds() -> None:
    """A child that keeps dying waits 0.1 s, then twice as long each time, never over 5 s."""
    kid = Child("gateway", [], {}, "g1")
    pauses = []
    for deaths in range(1, 9):
        kid.deaths = deaths
        pauses.append(kid.delay())
    assert pauses == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]


def test_gateways_are_named_after_gateway_id_or_a_valid_host_name() -> None:
    """GATEWAY_ID given to ROLE=all is the gateways' prefix; else the host's name, kept to what
    GATEWAY_ID allows, with room for ``-g256``."""
    assert machine_name(Settings(gateway_id="box-7")) == "box-7"
    assert len(machine_name(Settings(gateway_id="x" * 64)) + "-g256") == 64
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,59}", machine_name(Settings()))


def lock_pid(cluster: Cluster) -> int | None:
    """The pid the process holding DATA_DIR wrote, if the directory is locked by someone."""
    fd = os.open(cluster.data_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            text = (cluster.data_dir / "ctb.lock").read_text().strip()
            return int(text) if text.isdigit() else None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


@pytest.mark.e2e
def test_kill_9_of_the_parent_ends_every_child_and_the_directory_starts_again(
    make_cluster: Callable[..., Cluster],
) -> None:
    """After ``kill -9`` of the parent no child survives, the port is free, and a new ROLE=all
    on the same data directory starts, its engine holding the directory, with the same key."""
    first = make_cluster()
    first.start()
    kids = first.children()
    key = environ(first.pids("engine")[0])["SECRET_KEY"]
    assert first.proc is not None
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(timeout=10)

    eventually(lambda: all(gone(pid) for pid in kids), "every child exited")
    eventually(lambda: port_free(first.port), "the port is free")

    again = make_cluster(port=first.port)
    again.start()
    (engine,) = again.pids("engine")
    eventually(lambda: lock_pid(again) == engine, "the new engine holds DATA_DIR")
    assert environ(engine)["SECRET_KEY"] == key
    assert set(again.children()).isdisjoint(kids)


@pytest.mark.e2e
@pytest.mark.parametrize("role", ["gateway", "engine"])
def test_a_child_killed_is_started_again(make_cluster: Callable[..., Cluster], role: str) -> None:
    """A child ended by SIGKILL is started again (the port serves again, the engine holds the
    directory again) and the parent logs the restart; the other children are left alone."""
    cluster = make_cluster(gateways=1)
    cluster.start()
    (victim,) = cluster.pids(role)
    others = set(cluster.children()) - {victim}
    os.kill(victim, signal.SIGKILL)

    def replaced() -> list[int]:
        return [pid for pid in cluster.pids(role) if pid != victim]

    (new,) = eventually(replaced, f"a new {role} runs")
    if role == "gateway":
        eventually(cluster.healthy, "the port serves again")
    else:
        eventually(lambda: lock_pid(cluster) == new, "the new engine holds DATA_DIR")
    (restart,) = cluster.events("child_restart")
    assert (restart["role"], restart["pid"], restart["status"]) == (role, victim, "SIGKILL")
    assert others <= set(cluster.children())


@pytest.mark.e2e
def test_sigterm_stops_every_child_and_exits_0(make_cluster: Callable[..., Cluster]) -> None:
    """SIGTERM to the parent stops every child, restarts none, and the parent exits 0."""
    cluster = make_cluster()
    cluster.start()
    kids = cluster.children()
    assert cluster.proc is not None
    cluster.proc.send_signal(signal.SIGTERM)
    assert cluster.proc.wait(timeout=30) == 0
    assert all(gone(pid) for pid in kids)
    assert cluster.events("child_restart") == []
    assert len(cluster.events("cluster_stopped")) == 1
    assert port_free(cluster.port)


@pytest.mark.e2e
def test_keys_are_made_once_and_every_child_gets_the_same(
    make_cluster: Callable[..., Cluster],
) -> None:
    """On a first start the keys are generated once, kept in DATA_DIR, and every child is given
    the same SECRET_KEY and admin token; each gateway has a name of its own."""
    cluster = make_cluster(gateways=2)
    cluster.start()
    secret = (cluster.data_dir / "secret.key").read_text().strip()
    token = (cluster.data_dir / "admin.token").read_text().strip()
    envs = {pid: environ(pid) for pid in cluster.children()}
    assert {env["SECRET_KEY"] for env in envs.values()} == {secret}
    assert {env["ADMIN_TOKEN"] for env in envs.values()} == {token}
    made = [e for e in cluster.events("admin_token") if e["generated"]]
    assert len(made) == 1
    names = {envs[pid]["GATEWAY_ID"] for pid in cluster.pids("gateway")}
    assert len(names) == 2
    assert {name.rsplit("-", 1)[1] for name in names} == {"g1", "g2"}
    assert secret not in cluster.log() and token not in cluster.log()
