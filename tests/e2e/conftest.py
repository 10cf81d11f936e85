"""A real server process (``python run.py``) on a free port, for crash, restart and page tests."""

from __future__ import annotations

import contextlib
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
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "e2e-secret-key-0123456789-abcdefghij"  # 32 bytes or more, as the server asks
ADMIN_TOKEN = "e2e-admin-token-0123456789"
READY_TIMEOUT = 30.0


def call(
    server: ServerProcess, method: str, path: str, body: Any = None, token: str | None = None
) -> Any:
    """One JSON request to a test server, as a client of its API; a refusal raises HTTPError."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(server.url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(slots=True)
class ServerProcess:
    data_dir: Path
    port: int = field(default_factory=free_port)
    args: list[str] = field(default_factory=list)
    env: dict[str, str | None] = field(default_factory=dict)  # None unsets a variable
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    # Run in the child before run.py starts, e.g. to lower its descriptor limit.
    preexec: Callable[[], None] | None = None
    # The program and the folder it starts in: the checkout's run.py unless a test says otherwise.
    command: list[str] = field(default_factory=lambda: [sys.executable, str(ROOT / "run.py")])
    cwd: Path = ROOT

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *extra: str, wait: bool = True) -> None:
        """Start the program; with ``wait``, return once its /readyz answers 200."""
        wanted = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "DATA_DIR": str(self.data_dir),
            "SECRET_KEY": SECRET_KEY,
            "ADMIN_TOKEN": ADMIN_TOKEN,
            **self.env,
        }
        env = {name: value for name, value in wanted.items() if value is not None}
        self.log_path = self.data_dir.parent / f"server-{self.port}-{time.monotonic_ns()}.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [*self.command, *self.args, *extra],
                cwd=self.cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=self.preexec,
            )
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        """Poll /readyz until it answers 200; fail with the server's log if it never does."""
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"server not ready in {READY_TIMEOUT} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def kill(self, sig: int = signal.SIGKILL, timeout: float = 20.0) -> int:
        """Send ``sig`` to the server; SIGKILL goes to every process of the game at once (a
        crash of the machine's game, not the parent alone, whose children would stop cleanly)."""
        assert self.proc is not None
        children = self.children() if sig == signal.SIGKILL else []
        self.proc.send_signal(sig)
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        psutil.wait_procs(children, timeout=timeout)
        return code

    def children(self) -> list[psutil.Process]:
        """The processes the server started (ROLE=all: the engine and the gateways)."""
        assert self.proc is not None
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()


SINGLE, CLUSTER = "single", "engine+2gateways"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A module that sets ``BOTH_MODES`` runs each of its server tests twice: against the
    single process, and against ROLE=all (one engine, two gateways, a real Redis; SPEC §11)."""
    if "server_process" in metafunc.fixturenames and getattr(metafunc.module, "BOTH_MODES", 0):
        metafunc.parametrize("server_process", [SINGLE, CLUSTER], indirect=True)


@pytest.fixture
def server_process(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerProcess]:
    """An unstarted server on a temporary data directory; killed at the end of the test."""
    mode = getattr(request, "param", SINGLE)
    redis = None
    server = ServerProcess(data_dir=tmp_path / "data")
    if mode == CLUSTER:
        redis = RedisServer(tmp_path / "redis")
        redis.directory.mkdir()
        redis.start()
        server.env.update(
            {"REDIS_URL": redis.url, "ROLE": "all", "GATEWAYS": "2", "PYTHONUNBUFFERED": "1"}
        )
    yield server
    server.stop()
    if redis is not None:
        redis.stop()


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"the browser tests need Debian's chromium at {CHROMIUM} (apt install chromium)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """Fresh browser profiles (each its own localStorage, so its own player) whose pages must
    not throw: an uncaught error in any of them fails the test."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def make(**options: Any) -> BrowserContext:
        options.setdefault("viewport", {"width": 1366, "height": 768})
        context = browser.new_context(**options)
        context.on("weberror", lambda error: errors.append(str(error.error)))
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert errors == []


@pytest.fixture
def context(new_context: Callable[..., BrowserContext]) -> BrowserContext:
    """One such profile, 1280x900."""
    return new_context(viewport={"width": 1280, "height": 900})
