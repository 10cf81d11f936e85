"""Where a server's CPU goes per acknowledged push, in the rows of the push-path profile.

Attach it to a server under load (the peer benchmark's, or ``bench/ws_load.py``'s) while the
measured window is open. The kernel's counts (through psutil and ``/proc/PID/stat``) give the
process's CPU (its threads and the snapshot children it waited for) and its minor page faults
over the window; ``py-spy --native``
samples its stacks, Python and C (uvloop, libc) together, so a socket write, the loop's own
polling and the Python that led to them are told apart.

A stack inside the journal or the snapshot is theirs; one in a socket write is a write; else the
innermost Python frame that a row below matches names its row, and a stack with no Python of
its own is the loop's. Waits (the loop's poll, idle worker threads) are left out. Each row's
share of the samples times the window's CPU over the acknowledged pushes is its microseconds
an ack. py-spy pauses the process for each sample (without the pause a stack can come back
torn), so a profiled run's latencies are not the benchmark's: take those from a run without it.

    python bench/push_profile.py --match "run.py --port" --wait 20 --seconds 20 --ack-rate 2000

``--ack-rate`` is the driver's "acks received /s" of the same run (the peer benchmark's table).
The faults the parent took while a snapshot child lived (copy-on-write) are in the project's log
("snapshot written" lines, ``faults``); ``--server-log`` adds them up over the window.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import psutil
from cluster_profile import Frame, Match, frames_of, in_files
from memory_probe import minor_faults

AIOHTTP = "aiohttp: HTTP, handshakes, frame reading and writing"
AIOHTTP_C = {"reader_c.c", "_http_parser.c", "_http_writer.c", "mask.c"}
PUSH_RULES = (
    "engine/clicks.py",
    "engine/throttle.py",
    "engine/rank_index.py",
    "engine/leaderboard.py",
    "engine/batch_memory.py",
    "engine/admin/interventions.py",
    "engine/admin/fast_path.py",
)
# (row, matches a Python frame): walking a stack's Python frames from the innermost out, the
# first frame that some row matches gives the sample to that row.
ROWS: list[tuple[str, Match]] = [
    ("snapshot: fork and the child's bookkeeping", in_files("persistence/saver.py")),
    ("journal: encode, frame, CRC, write", in_files("persistence/")),
    ("engine: the push's rules", in_files(*PUSH_RULES)),
    ("engine: boards, ticks and the rest", in_files("engine/")),
    ("actor: mailbox, turns, replies", in_files("actor/")),
    ("broadcaster: ticks and the fan-out's Python", in_files("server/broadcaster.py")),
    ("dispatch and glue: frame to mailbox, ack encode", in_files("server/ws", "server/push.py")),
    ("server: sessions, tokens, metrics, overload", in_files("server/", "bus/", "jwt/")),
    (AIOHTTP, in_files("aiohttp/")),
    ("asyncio in Python (tasks, futures)", in_files("asyncio/")),
    ("the bare server's handler", in_files("server.py")),
]
WRITES = "socket writes (boards and acks)"
WRITE_CALLS = {
    "UVStream_write",
    "UVStream__try_write",
    "UVStream_writelines",
    "UVStream__exec_write",
}
GC = "garbage collection"
LOOP = "the event loop's own native work (uvloop, libc: reads, polling, callbacks)"
OTHER = "other"
# py-spy's native mode counts a thread waiting in these as running: they are left out.
IDLE_WAITS = {"epoll_pwait", "epoll_wait", "_queue_SimpleQueue_get_impl", "pthread_cond_timedwait"}
IDLE = "waiting (not CPU: the loop's poll, idle worker threads)"
# The frames every stack starts with: the program's entry and the loop's run.
ENTRY = {"<module>", "main", "run", "run_app", "run_until_complete", "run_forever", "Runner.run"}


def row_of(frames: list[Frame]) -> str:
    names = {f[0] for f in frames}
    if names & IDLE_WAITS:
        return IDLE
    python = [f for f in frames if f[1].endswith(".py") and f[0] not in ENTRY]
    if any(f[1].startswith("persistence/") for f in python):
        return next(row for row, match in ROWS if any(match(f) for f in python))
    if names & WRITE_CALLS:
        return WRITES
    if "gc_collect_main" in names:
        return GC
    if not python:
        return LOOP
    last = max(i for i, f in enumerate(frames) if f[1].endswith(".py"))
    if any(f[1] in AIOHTTP_C for f in frames[last + 1 :]):
        return AIOHTTP  # aiohttp's compiled reader, under whichever Python frame fed it
    for frame in reversed(python):
        for row, matches in ROWS:
            if matches(frame):
                return row
    return OTHER


def find_pid(pattern: str, timeout: float) -> int:
    """The outermost Python process whose command line matches: not a shell that started it,
    not a snapshot child it forked, not this script."""
    matches = re.compile(pattern).search
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = {
            proc.pid: proc.info["ppid"]
            for proc in psutil.process_iter(["cmdline", "exe", "ppid"])
            if proc.pid != os.getpid()
            and Path(proc.info["exe"] or "").name.startswith("python")
            and matches(" ".join(proc.info["cmdline"] or ()))
        }
        tops = [pid for pid, parent in found.items() if parent not in found]
        if tops:
            return min(tops)
        time.sleep(0.2)
    raise SystemExit(f"no process matches {pattern!r}")


def _cpu_and_faults(pid: int) -> tuple[float, int]:
    """CPU seconds (the process's threads and the snapshot children it waited for) and minor
    page faults so far."""
    times = psutil.Process(pid).cpu_times()
    cpu = times.user + times.system + times.children_user + times.children_system
    return cpu, minor_faults(pid)


def record(pid: int, seconds: float, rate: int, workdir: Path) -> tuple[Path, dict[str, float]]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    stacks = workdir / "stacks.txt"
    spy_cmd = [spy, "record", "--pid", str(pid), "--native", "--rate", str(rate)]
    spy_cmd += ["--duration", str(int(seconds)), "--format", "raw", "--output", str(stacks)]
    cpu_before, faults_before = _cpu_and_faults(pid)
    spy_run = subprocess.run(spy_cmd, capture_output=True, text=True, timeout=seconds + 60)
    cpu_after, faults_after = _cpu_and_faults(pid)
    if spy_run.returncode != 0:
        raise SystemExit(f"py-spy failed: {spy_run.stderr[-500:]}")
    return stacks, {
        "cpu_ms": (cpu_after - cpu_before) * 1000,
        "faults": faults_after - faults_before,
    }


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def snapshot_faults(log: Path, since: float) -> tuple[int, int]:
    """Snapshots written and the parent's faults during them, from the project's JSON log."""
    written = faults = 0
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        stamp = entry.get("ts")
        if entry.get("event") == "snapshot" and stamp and _epoch(stamp) >= since:
            written += 1
            faults += int(entry.get("faults", 0))
    return written, faults


def report(stacks: Path, counts: dict[str, float], acks: float) -> dict[str, float]:
    rows: Counter[str] = Counter()
    for line in stacks.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        rows[row_of(frames_of(stack))] += int(count)
    rows.pop(IDLE, None)
    total = sum(rows.values()) or 1
    cpu_ms = counts.get("cpu_ms", 0.0)
    per_ack = cpu_ms * 1000 / max(acks, 1.0)
    print(f"CPU {cpu_ms:,.0f} ms for {acks:,.0f} acks: {per_ack:.1f} µs an ack; {total:,} samples")
    print("| where | µs/ack | share |\n|---|---:|---:|")
    table = {}
    for row, count in rows.most_common():
        table[row] = per_ack * count / total
        print(f"| {row} | {table[row]:.1f} | {count / total:.1%} |")
    faults = counts.get("faults", 0.0)
    print(f"page faults: {faults:,.0f}, {faults / max(acks, 1.0):.2f} an ack")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--pid", type=int)
    target.add_argument("--match", help="pgrep -f pattern of the server's command line")
    parser.add_argument("--wait", type=float, default=0.0, help="seconds before sampling")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples a second")
    parser.add_argument("--ack-rate", type=float, required=True, help="acks a second")
    parser.add_argument("--server-log", type=Path, help="the project's log: copy-on-write faults")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    pid = args.pid or find_pid(args.match, timeout=120)
    time.sleep(args.wait)
    started = time.time()
    workdir = Path(tempfile.mkdtemp(prefix="push-profile-"))
    stacks, counts = record(pid, args.seconds, args.rate, workdir)
    acks = args.ack_rate * args.seconds
    table = report(stacks, counts, acks)
    if args.server_log is not None:
        written, faults = snapshot_faults(args.server_log, started)
        print(f"snapshots written: {written}; parent's faults while a child lived: {faults:,}")
        print(f"  {faults / max(acks, 1.0):.2f} an ack")
        table["copy-on-write faults an ack"] = faults / max(acks, 1.0)
    if args.json is not None:
        args.json.write_text(json.dumps({"counts": counts, "rows": table}, indent=1))
    print(f"raw stacks: {stacks}")


if __name__ == "__main__":
    main()
