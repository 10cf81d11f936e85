"""Where the engine process's time goes under ``bench/cluster_bench.py``: py-spy and perf.

py-spy samples the running engine's Python stacks from outside, pausing it for each sample:
without the pause (``--nonblocking``) a third of the stacks came back torn (a turn's frames
under a socket write of redis-py), so the window profiled is run apart from the measured ones.
Each stack goes to the first part below one of whose frames it holds, so a journal write inside
a turn counts as the journal, not the turn.

py-spy's clock is the wall's: a thread that could run but waits for the core counts where it
stands. On a shared box that is mostly right after a socket write, whose wake-up of Redis hands
Redis the core, so samples ending in ``StreamWriter.writelines`` are set apart, as are those in
uvloop's own code (``Runner.run``, its waits) and the worker threads' (their waits count as
busy). ``perf`` (when installed) samples the CPU clock instead, so its split by library (the
interpreter, the kernel, uvloop, msgspec, hiredis) is what the engine's CPU really did. Both
are the bench's own tools (py-spy: ``setup.cfg``'s ``bench`` extra; perf: the system's).
"""

from __future__ import annotations

import pstats
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

RATE = 250  # samples a second

Frame = tuple[str, str]  # (function, file)
Match = Callable[[Frame], bool]


def in_files(*packages: str) -> Match:
    return lambda frame: frame[1].startswith(packages)


def called(*names: str, file: str = "") -> Match:
    return lambda frame: frame[0] in names and file in frame[1]


# (part, matches a frame): the first part any frame of a stack matches takes the sample.
PARTS: list[tuple[str, Match]] = [
    ("boards: build and publish", called("publish", "publication", "build_board")),
    ("heartbeat and presence", called("_heartbeat_forever", "alive", "_presence")),
    ("journal: encode and write", in_files("persistence/")),
    ("decode command entries", called("decode_calls")),
    ("encode replies", called("encode_replies")),
    ("rules: engine.commands.apply", in_files("engine/")),
    ("Redis I/O (redis-py: pipelines, XREAD, parsing)", in_files("redis/")),
    ("engine host: handing calls to the actor, replies", in_files("bus/")),
    ("actor: mailbox, turns, replies", in_files("actor/")),
    ("event loop (asyncio, uvloop)", lambda f: f[1].startswith(("asyncio/", "uvloop/"))),
]
WRITE_WAIT = "socket writes (wall time: mostly off the core after waking Redis)"
THREADS = "worker threads (the journal's fsync, the listing; their waits included)"
LOOP = "the event loop's own C code (uvloop: its waits for the sockets included)"
SET_APART = (WRITE_WAIT, THREADS, LOOP)


def frames_of(stack: str) -> list[Frame]:
    """``function (file:line)`` frames, outermost first, of one collapsed stack; py-spy names
    each file from its entry of ``sys.path`` (``engine/clicks.py``, ``redis/client.py``), a native
    one by its source or library (``loop.c``, ``libc.so.6``)."""
    frames = []
    for text in stack.split(";"):
        name, _, where = text.partition(" (")
        frames.append((name.strip(), where.rsplit(":", 1)[0].rstrip(")")))
    return frames


def part_of(frames: list[Frame]) -> str:
    if frames[0][0] == "Thread._bootstrap":
        return THREADS
    if frames[-1][0] == "StreamWriter.writelines":
        return WRITE_WAIT
    if frames[-1][0] == "Runner.run":
        return LOOP
    for part, matches in PARTS:
        if any(matches(frame) for frame in frames):
            return part
    return "other"


class Profiler:
    """``start(pid)`` records ``seconds`` in the background; ``report`` prints the parts."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.dir = Path(tempfile.mkdtemp(prefix="cluster-profile-"))
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, pid: int) -> None:
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        args = [spy, "record", "--pid", str(pid), "--duration", str(int(self.seconds))]
        args += ["--rate", str(RATE), "--format", "raw", "--output", str(self.dir / "spy.txt")]
        self.procs["py-spy"] = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        perf = shutil.which("perf")
        if perf is not None:
            args = [perf, "record", "-e", "cpu-clock", "-F", "997", "-p", str(pid)]
            args += ["-o", str(self.dir / "perf.data"), "--", "sleep", str(self.seconds)]
            self.procs["perf"] = subprocess.Popen(
                args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )

    def report(self) -> None:
        for tool, proc in self.procs.items():
            _, err = proc.communicate(timeout=self.seconds + 60)
            if proc.returncode != 0:
                print(f"{tool} failed: {err.decode(errors='replace')[-500:]}")
                return
        if "py-spy" in self.procs:
            self._spy_report(self.dir / "spy.txt")
        if "perf" in self.procs:
            self._perf_report(self.dir / "perf.data")

    def _spy_report(self, path: Path) -> None:
        parts: Counter[str] = Counter()
        leaves: Counter[str] = Counter()
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            frames = frames_of(stack)
            part = part_of(frames)
            parts[part] += int(count)
            if part not in SET_APART:
                leaf = frames[-1]
                leaves[f"{leaf[0]} ({Path(leaf[1]).name})"] += int(count)
        apart = {part: parts.pop(part, 0) for part in SET_APART}
        total = sum(parts.values()) or 1
        print(f"\nengine's Python stacks (py-spy at {RATE}/s, {path}):")
        for part, count in apart.items():
            print(f"  set apart: {count:,} samples in {part}")
        print(f"  the shares below are of the other {total:,} samples")
        for part, count in parts.most_common():
            print(f"  {count / total:6.1%}  {part}")
        print("busiest functions (own time):")
        for name, count in leaves.most_common(15):
            print(f"  {count / total:6.1%}  {name}")

    def _perf_report(self, path: Path) -> None:
        out = subprocess.run(
            ["perf", "report", "-i", str(path), "--sort", "dso", "--stdio"],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        rows = [line.split(None, 1) for line in out.splitlines() if line.strip()[:1].isdigit()]
        print(f"\nengine's CPU by library (perf, CPU clock, {path}):")
        for share, library in rows[:8]:
            print(f"  {share:>7}  {library.strip()}")


# (what, file, function): cumulative CPU time of these, as a share of the engine thread's.
CPROFILE_PARTS = [
    ("the actor's turns, all of it", "actor/actor.py", "_turn"),
    ("  rules: one push (engine.commands._push)", "engine/commands.py", "_push"),
    ("  journal: encode and write", "persistence/store.py", "append"),
    ("  stamping each command's time", "engine/command_types.py", "stamped"),
    ("  replies handed to the writer (EngineHost._answer)", "bus/engine_host.py", "_answer"),
    ("  turn observers (the metrics' histograms)", "server/app.py", "<lambda>"),
    ("reading calls into the mailbox (EngineHost._handle)", "bus/engine_host.py", "_handle"),
    ("  decode of command entries", "bus/wire.py", "decode_calls"),
    ("  Actor.send (the mailbox)", "actor/actor.py", "send"),
    ("XREAD of the command stream (StreamReader.read)", "bus/stream_reader.py", "read"),
    ("the writer's pipelines: building (Writer._take)", "bus/redis_io.py", "_take"),
    ("  encode of replies", "bus/wire.py", "encode_replies"),
    ("the writer's pipelines: sending (Writer._send)", "bus/redis_io.py", "_send"),
    ("boards: build and publish", "bus/engine_host.py", "publish"),
    ("heartbeat", "bus/engine_host.py", "_heartbeat_forever"),
]


def cprofile_report(path: Path, pushes: int) -> None:
    """The parts of an engine run under cProfile (wall clock). The event loop's own time
    (``Runner.run``: uvloop's C code, its waits for the sockets included) is left out of the
    total, so the shares are of the Python code's busy time; a system call's time includes any
    time the engine lost the core during it."""
    stats = pstats.Stats(str(path))
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    idle = sum(e[2] for (name, _, func), e in table.items() if name.endswith("runners.py"))
    total = (sum(entry[2] for entry in table.values()) - idle) or 1.0
    print(
        f"\nengine thread under cProfile (busy wall time, profiling slows it): {total:.2f} s, "
        f"{total / max(1, pushes) * 1e6:.1f} µs a push over {pushes:,} pushes ({path})"
    )
    for label, file, function in CPROFILE_PARTS:
        cum = sum(
            entry[3]
            for (name, _, func), entry in table.items()
            if func == function and name.endswith(file)
        )
        print(f"  {cum / total:6.1%}  {cum / max(1, pushes) * 1e6:5.1f} µs/push  {label}")
    print("busiest functions (own time):")
    stats.sort_stats("tottime").print_stats(20)
