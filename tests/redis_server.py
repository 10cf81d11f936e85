"""A real ``redis-server`` process for tests (SPEC §11): no mock of Redis anywhere.

Each test gets its own server on a free loopback port, in a temporary directory, with no
persistence (``--save "" --appendonly no``), so nothing outlives the test. The failure tests of
the bus need "stop Redis, start it again on the same port": ``stop`` and ``start`` keep the port,
and a restarted server starts empty, as a real one without persistence would.
"""

from __future__ import annotations

import ctypes
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

READY_TIMEOUT = 10.0
_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> None:
    """Runs in the child before exec: a pytest killed by SIGKILL takes its Redis with it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass(slots=True)
class RedisServer:
    """One ``redis-server`` on ``port``; ``start`` waits until it answers PING."""

    directory: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        if self.running:
            raise RuntimeError("this Redis is running already")
        self.starts += 1
        log = self.directory / f"redis-{self.starts}.log"
        args = [
            "redis-server",
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.directory),
            "--logfile", str(log),
            "--daemonize", "no",
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
        )
        self._wait_for_ping(log)

    def _wait_for_ping(self, log: Path) -> None:
        client = redis.Redis(port=self.port, socket_timeout=1.0, socket_connect_timeout=1.0)
        deadline = time.monotonic() + READY_TIMEOUT
        try:
            while True:
                if self.proc is not None and self.proc.poll() is not None:
                    text = log.read_text() if log.exists() else ""
                    raise RuntimeError(f"redis-server exited at start:\n{text[-2000:]}")
                try:
                    if client.ping():
                        return
                except redis.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    self.stop(kill=True)
                    raise RuntimeError(f"redis-server did not answer PING on {self.port}")
                time.sleep(0.01)
        finally:
            client.close()

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server (SIGTERM, or SIGKILL with ``kill``) and wait until it is gone."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        proc.send_signal(signal.SIGCONT)  # a frozen server must wake to act on the SIGTERM
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def freeze(self) -> None:
        """Stop the process without closing anything (SIGSTOP): a Redis that hangs, which no
        connection error reports; only the callers' own time bounds do."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def restart(self) -> None:
        """Stop it and start it again on the same port (its data is gone: no persistence)."""
        self.stop()
        self.start()
