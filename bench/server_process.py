"""A real server (``python run.py``) for the benchmarks: start it, wait until it is ready, stop it.

The benchmarks measure the server as an operator runs it, so they all start it the same way:
on a free local port, with its own data directory and log file, and stopped with SIGTERM so it
shuts down as in production (a final snapshot, sockets closed with 1001).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE_ENV = {
    "HOST": "127.0.0.1",
    "SECRET_KEY": "bench-secret-key-0123456789-abcdef",
    "ADMIN_TOKEN": "bench-admin-token-0123456789",
    "SESSIONS_PER_MINUTE": "100000",
    # Every simulated player comes from this one address: no per-address read limit, and no
    # shedding of the one address that sends every request.
    "READ_RATE": "100000",
    "READ_BURST": "100000",
    "SHED_RATE": "0",
    "ROUND_TARGET": str(10**12),  # no round may end during a run
    "ROUND_SECONDS": "604800",
    "LOG_LEVEL": "WARNING",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(slots=True)
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    ready_after: float  # seconds from the process's start to its first 200 on /readyz

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, then SIGKILL if it has not exited in ``timeout`` seconds; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def start(
    data_dir: Path,
    log: Path,
    env: dict[str, str],
    ready_timeout: float = 120.0,
    argv: list[str] | None = None,
) -> Server:
    """Start ``run.py`` (or ``argv``) on ``data_dir`` with ``env`` over the bench defaults; wait
    for /readyz."""
    port = free_port()
    full_env = {**os.environ, **BASE_ENV, "PORT": str(port), "DATA_DIR": str(data_dir), **env}
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv or [sys.executable, str(ROOT / "run.py")],
            cwd=ROOT,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/readyz"
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return Server(proc, port, log, time.perf_counter() - started)
        except OSError:
            pass
        time.sleep(0.02)
    proc.kill()
    raise SystemExit(f"server not ready in {ready_timeout} s:\n{log.read_text()[-4000:]}")
