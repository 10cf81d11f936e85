"""A real ``ROLE=all`` process tree for the cluster tests (SPEC §11): ``python run.py`` with
``REDIS_URL`` set, its engine and gateways seen through ``psutil`` and ``/proc``."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.e2e.conftest import ROOT, free_port
from tests.redis_server import RedisServer

DEADLINE = 30.0  # seconds; the machine is shared and slow, a process tree starts in a few
_PR_SET_PDEATHSIG = 1


def eventually(check: Callable[[], Any], what: str, deadline: float = DEADLINE) -> Any:
    """Poll ``check`` until it returns something true, and return that; fail after ``deadline``."""
    give_up = time.monotonic() + deadline
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < give_up, f"never happened: {what}"
        time.sleep(0.05)


def _die_with_pytest() -> None:
    """A pytest killed by SIGKILL takes the parent with it, and the parent its children."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def gone(pid: int) -> bool:
    """Exited: no such process, or a zombie nobody reaped yet (it holds nothing)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def environ(pid: int) -> dict[str, str]:
    """The environment a process was started with."""
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)


def port_free(port: int) -> bool:
    """A new server could listen on ``port`` (with SO_REUSEADDR, as every server binds)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass(slots=True)
class Cluster:
    """One ``ROLE=all`` parent on ``port`` over ``data_dir``, started by ``start``."""

    data_dir: Path
    redis_url: str
    port: int = field(default_factory=free_port)
    gateways: int = 2
    env: dict[str, str] = field(default_factory=dict)
    # The program and the folder it starts in: the checkout's run.py unless a test says otherwise.
    command: list[str] = field(default_factory=lambda: [sys.executable, str(ROOT / "run.py")])
    cwd: Path = ROOT
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    # Every child ever found, for ``stop``: psutil signals none whose pid was reused since.
    seen: set[psutil.Process] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        unset = ("SECRET_KEY", "ADMIN_TOKEN", "ADMIN_TOKENS", "GATEWAY_ID", "ROLE")
        env = {name: value for name, value in os.environ.items() if name not in unset}
        env.update(
            HOST="127.0.0.1",
            PORT=str(self.port),
            DATA_DIR=str(self.data_dir),
            REDIS_URL=self.redis_url,
            GATEWAYS=str(self.gateways),
            **self.env,
        )
        self.log_path = self.data_dir.parent / f"cluster-{self.port}-{time.monotonic_ns()}.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_pytest,
            )
        self.wait_serving()

    def children(self) -> dict[int, str]:
        """The running children: pid → the role its last ``--role`` flag names."""
        assert self.proc is not None
        found = {}
        try:
            kids = psutil.Process(self.proc.pid).children()
        except psutil.NoSuchProcess:
            return {}
        for kid in kids:
            try:
                argv = kid.cmdline()
            except psutil.NoSuchProcess:
                continue
            if "--role" in argv and not gone(kid.pid):
                self.seen.add(kid)
                found[kid.pid] = argv[len(argv) - 1 - argv[::-1].index("--role") + 1]
        return found

    def pids(self, role: str) -> list[int]:
        return sorted(pid for pid, named in self.children().items() if named == role)

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def wait_serving(self) -> None:
        """Until the engine and every gateway run and the port answers /healthz."""
        assert self.proc is not None

        def serving() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"the parent exited {self.proc.returncode}:\n{self.log()}")
            roles = sorted(self.children().values())
            return roles == ["engine"] + ["gateway"] * self.gateways and self.healthy()

        eventually(serving, f"the cluster serves on {self.port}:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def events(self, name: str) -> list[dict[str, Any]]:
        """The JSON log lines (the parent's and the children's) of event ``name``."""
        lines = []
        for line in self.log().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("event") == name:
                lines.append(record)
        return lines

    def stop(self) -> None:
        """Kill whatever is left of the tree (the parent, then any child it ever had)."""
        if self.proc is not None:
            self.children()
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait(timeout=10)
        for kid in self.seen:
            with contextlib.suppress(psutil.NoSuchProcess):
                kid.kill()


@pytest.fixture
def make_cluster(redis_server: RedisServer, tmp_path: Path) -> Iterator[Callable[..., Cluster]]:
    """Unstarted clusters over one temporary data directory; all killed at the end."""
    made: list[Cluster] = []

    def make(**options: Any) -> Cluster:
        options.setdefault("data_dir", tmp_path / "data")
        cluster = Cluster(redis_url=redis_server.url, **options)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.stop()
