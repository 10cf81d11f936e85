"""``ROLE=all`` (SPEC §11): one parent starts an engine and ``GATEWAYS`` gateways on one
``HOST:PORT`` and keeps them running; when it goes, they go.

- **Keys first.** The children must sign and check the same tokens, so before any starts the
  parent reads or generates ``SECRET_KEY`` and the admin token exactly as the single process
  does (``server/auth.py`` in the locked DATA_DIR; the lock is released before the engine, which
  takes it, starts) and hands them to every child in its environment, nowhere else.
- **Each child is this program again**: the same interpreter and entry (``run.py``, the
  installed ``click-the-button`` or the ``.pyz``: ``sys.argv[0]`` in each case) with the
  parent's flags and ``--role engine`` or ``--role gateway`` appended (the last flag wins, and
  flags win over the environment); gateway ``N`` is named ``<name>-g<N>``.
- **Restarts**: a child that exits while the parent is not stopping is started again after a
  pause that doubles while it keeps dying (0.1 s up to 5 s; one that ran 10 s starts over).
- **Stopping**: SIGTERM or SIGINT sends SIGTERM to every child, waits up to 10 s for them
  (then SIGKILL) and exits 0. Each child has a process group of its own, so a terminal's
  Ctrl-C reaches the parent alone and each child hears one signal, not two.
- **Dying**: every child gets the read end of a pipe whose write end only this process holds;
  ``parent_watch.py`` is the child's side.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import socket
import sys
from dataclasses import dataclass

from cluster.parent_watch import PARENT_FD
from persistence.errors import StartupError
from persistence.lock import release_lock, take_lock
from persistence.store import check_data_dir
from server.auth import load_auth
from setting_values import GATEWAY_ID
from settings import Settings

log = logging.getLogger("ctb.cluster")

FIRST_DELAY = 0.1  # seconds before the first restart of a child that died
MAX_DELAY = 5.0  # the pause never grows beyond this
HEALTHY_RUN = 10.0  # a child that ran this long before dying starts over at FIRST_DELAY
STOP_TIMEOUT = 10.0  # seconds the children have to exit after SIGTERM, before SIGKILL


@dataclass(slots=True)
class Child:
    """One role the parent keeps running, and the process that runs it now."""

    role: str  # engine | gateway
    argv: list[str]
    env: dict[str, str]
    name: str  # engine, or the gateway's GATEWAY_ID
    proc: asyncio.subprocess.Process | None = None
    deaths: int = 0  # in a row, each within HEALTHY_RUN of its start
    restarts: int = 0

    def delay(self) -> float:
        return min(FIRST_DELAY * 2 ** max(self.deaths - 1, 0), MAX_DELAY)


def program() -> list[str]:
    """How to start this program again: the interpreter and the entry it was started with.

    ``sys.argv[0]`` is ``run.py`` (as typed, relative to the folder the parent started in),
    the installed command's script, or the ``.pyz``; the interpreter runs any of them.
    """
    entry = os.path.abspath(sys.argv[0])
    if not os.path.isfile(entry):
        raise StartupError(
            f"ROLE=all starts its children as this program again, but {sys.argv[0]!r} is not a "
            "file: start it as run.py, the click-the-button command or the .pyz"
        )
    return [sys.executable, entry]


def machine_name(settings: Settings) -> str:
    """The gateways' common prefix: GATEWAY_ID if given, else this host's short name."""
    room = 64 - len("-g256")  # GATEWAY_ID allows 64 characters; GATEWAYS at most 256
    if settings.gateway_id is not None:
        return settings.gateway_id[:room]
    short = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname().split(".")[0])[:room]
    return short if GATEWAY_ID.fullmatch(short) else "ctb"


def shared_keys(settings: Settings) -> dict[str, str]:
    """SECRET_KEY and ADMIN_TOKEN for the children's environment: as given, else as kept in
    DATA_DIR (generated there on a first start), read with the directory locked as the single
    process reads them. The lock is released on return, before any child starts."""
    check_data_dir(settings.data_dir)
    data_dir = take_lock(settings.data_dir)
    try:
        auth = load_auth(settings, data_dir)
    finally:
        release_lock(data_dir)
    keys = {"SECRET_KEY": auth.secret}
    if auth.admin_token is not None:  # None: ADMIN_TOKENS names the admins, in argv or env
        keys["ADMIN_TOKEN"] = auth.admin_token
    return keys


def children(settings: Settings, argv: list[str], parent_fd: int) -> list[Child]:
    base = program() + argv
    env = {**os.environ, **shared_keys(settings), PARENT_FD: str(parent_fd)}
    made = [Child("engine", [*base, "--role", "engine"], env, "engine")]
    prefix = machine_name(settings)
    for n in range(1, settings.gateways + 1):
        gateway_id = f"{prefix}-g{n}"
        # The flag as well as the variable: a --gateway-id given to the parent would win over
        # the variable and name every gateway alike.
        argv_n = [*base, "--role", "gateway", "--gateway-id", gateway_id]
        made.append(Child("gateway", argv_n, {**env, "GATEWAY_ID": gateway_id}, gateway_id))
    return made


class Supervisor:
    """Runs the children until told to stop; ``run`` returns the exit status."""

    def __init__(self, kids: list[Child], parent_fd: int) -> None:
        self.kids = kids
        self.parent_fd = parent_fd
        self.stopping = asyncio.Event()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop, sig)
        keepers = [asyncio.create_task(self._keep(kid), name=kid.name) for kid in self.kids]
        stop = asyncio.create_task(self.stopping.wait())
        done, _ = await asyncio.wait([stop, *keepers], return_when=asyncio.FIRST_COMPLETED)
        status = 0
        for task in done - {stop}:  # a keeper ends only when stopping, or by a bug
            if task.exception() is None:
                continue
            status = 1
            log.error(
                "a child's keeper failed: stopping them all",
                exc_info=task.exception(),
                extra={"event": "cluster_failed", "child": task.get_name()},
            )
        self.stopping.set()
        for kid in self.kids:
            self._signal(kid, signal.SIGTERM)
        _, pending = await asyncio.wait(keepers, timeout=STOP_TIMEOUT)
        for kid in self.kids:
            if self._signal(kid, signal.SIGKILL):
                log.error(
                    "child did not stop in time: killed",
                    extra={"event": "child_killed", "role": kid.role, "child": kid.name},
                )
        await asyncio.gather(stop, *pending, return_exceptions=True)
        log.info("all children stopped", extra={"event": "cluster_stopped"})
        return status

    def _stop(self, sig: int) -> None:
        if not self.stopping.is_set():
            log.info(
                "stopping the children",
                extra={"event": "cluster_stopping", "signal": signal.Signals(sig).name},
            )
        self.stopping.set()

    @staticmethod
    def _signal(kid: Child, sig: int) -> bool:
        """Send ``sig`` to the child's process if it runs; True if it did."""
        proc = kid.proc
        if proc is None or proc.returncode is not None:
            return False
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        return True

    async def _keep(self, kid: Child) -> None:
        """Start the child, wait for it to exit, start it again, until the parent stops."""
        loop = asyncio.get_running_loop()
        while not self.stopping.is_set():
            started = loop.time()
            status = await self._run_once(kid)
            if self.stopping.is_set():
                return
            kid.deaths = 1 if loop.time() - started >= HEALTHY_RUN else kid.deaths + 1
            delay = kid.delay()
            log.error(
                "child exited: restarting it",
                extra={"event": "child_restart", "role": kid.role, "child": kid.name,
                       "pid": kid.proc.pid if kid.proc else None, "status": status,
                       "delay": delay, "deaths_in_a_row": kid.deaths},
            )  # fmt: skip
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), delay)
            kid.restarts += 1

    async def _run_once(self, kid: Child) -> str | int:
        """One life of the child: its exit status, or why it could not start."""
        kid.proc = None
        try:
            # A process group of its own: a terminal's Ctrl-C reaches the parent only, which
            # sends one SIGTERM; a second signal would cut the child's graceful stop short.
            kid.proc = await asyncio.create_subprocess_exec(
                *kid.argv, env=kid.env, pass_fds=(self.parent_fd,), process_group=0
            )
        except OSError as error:  # out of processes or memory: try again after the pause
            return f"not started: {error}"
        log.info(
            "child started",
            extra={"event": "child_started", "role": kid.role, "child": kid.name,
                   "pid": kid.proc.pid, "restarts": kid.restarts},
        )  # fmt: skip
        if self.stopping.is_set():  # the stop came while it was starting
            self._signal(kid, signal.SIGTERM)
        return _status(await kid.proc.wait())


def _status(returncode: int) -> str | int:
    """An exit status, or the signal's name for a child a signal ended."""
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return signal.Signals(-returncode).name
    return returncode


def run_all(settings: Settings, argv: list[str]) -> int:
    """The one command of ROLE=all: raises StartupError before any child starts if it cannot."""
    read_end, write_end = os.pipe()  # both close on exec: only pass_fds hands the read end on
    try:
        kids = children(settings, argv, read_end)
    except BaseException:
        os.close(write_end)
        os.close(read_end)
        raise
    log.info(
        "starting an engine and gateways",
        extra={"event": "cluster_start", "gateways": settings.gateways, "pid": os.getpid()},
    )
    try:
        return asyncio.run(Supervisor(kids, read_end).run())
    finally:
        os.close(write_end)  # the children see the end of the pipe; they are stopped already
        os.close(read_end)


__all__ = ["Child", "Supervisor", "machine_name", "program", "run_all", "shared_keys"]
