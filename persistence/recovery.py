"""Start-up: rebuild the game from the newest valid snapshot and the journal after it (SPEC §7).

The order of trust: ``snapshot.bin``, then ``snapshot.prev.bin``, then, when the journal still
reaches back to its very first segment, an empty game replayed from the whole journal. The
journal segments from the chosen snapshot's ``journal_next`` on are replayed in order through
``engine.commands.apply``, the same code the actor ran.

Nothing is ever deleted or overwritten here. A file that fails its checks is renamed aside
(``<name>.corrupt-<time>``) and named in the log. A torn last record of the last segment — what
a crash in the middle of a write leaves — is cut off, its bytes kept in ``<name>.torn-<time>``
unless they are zeros. A segment that is corrupt in the middle, or an earlier segment cut short,
is replayed up to the damage, then it and the segments after it are moved aside: records after a
gap cannot be applied on top of a state that lacks it. When files exist but no valid state can
be built, the server refuses to start, unless ``--start-empty`` says to begin a new game (the old
files are kept, moved aside).

After a start-up that moved or cut a file, the state it rebuilt is not in any file the next
start would read the same way, so it is written as a snapshot before the server serves anything,
and the journal goes on in a segment numbered above every segment name ever seen in the
directory, moved-aside ones included: a later start never replays new records on top of a state
that lacks the recovered ones.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
import re
import time
from typing import Any

from engine import command_types, commands
from engine.admin import bulk
from engine.errors import GameError
from engine.rules import Rules
from engine.state import GameState, new_state
from persistence import journal, snapshot
from persistence.data_dir import DataDir
from persistence.errors import CorruptFile, StartupError

log = logging.getLogger("ctb.persistence")

FIRST_SEGMENT = 1
ASIDE = re.compile(r"^(snapshot|journal).*\.(corrupt|unused)-\d{8}T\d{6}Z")
SEGMENT_NUMBER = re.compile(r"journal-(\d{1,20})\.log")  # also the start of a moved-aside name


@dataclasses.dataclass(slots=True)
class Recovered:
    """The state at start-up and what the saver must know about the files on disk."""

    state: GameState
    saved_version: int | None  # the version already on disk (a snapshot's); None: none is
    current_covers: int | None  # journal_next of snapshot.bin on disk, if there is one
    previous_covers: int | None  # journal_next of snapshot.prev.bin, when it was read
    next_segment: int  # the segment the journal writes next
    replayed: int = 0
    refused: int = 0  # records the game refused (a push too soon, a duplicate): normal
    failed: int = 0  # records that raised a bug: replayed to the same point as live
    moved_aside: list[str] = dataclasses.field(default_factory=list)  # the new names
    tails_cut: int = 0  # torn last records cut off; with moved_aside, what forces a save


def recover(
    data_dir: DataDir, rules: Rules, planet_names: list[str], start_empty: bool
) -> Recovered:
    """Load what the data directory holds; raise StartupError when no valid state remains."""
    # Millions of new containers would trigger a full collection again and again, each one
    # walking everything built so far: loading without the collector is several times faster.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _recover(data_dir, rules, planet_names, start_empty)
    finally:
        if collecting:
            gc.enable()


def _recover(
    data_dir: DataDir, rules: Rules, planet_names: list[str], start_empty: bool
) -> Recovered:
    _remove_stale_temps(data_dir)
    snapshots = [n for n in (snapshot.CURRENT, snapshot.PREVIOUS) if data_dir.exists(n)]
    segments = journal.list_segments(data_dir)
    earlier = sorted(n for n in data_dir.names() if ASIDE.search(n))
    moved: list[str] = []
    reasons: list[str] = []
    if not snapshots and not segments and not earlier:
        log.info("no saved state: a new game", extra={"event": "first_start"})
        # The empty game needs no snapshot: it is what an empty directory loads as.
        state = new_state(rules, planet_names)
        result = Recovered(state, state.version, None, None, FIRST_SEGMENT)
        if _highest_segment(data_dir) >= FIRST_SEGMENT:  # a kept torn tail names a segment
            _save_recovered(data_dir, result)
        return result
    loaded = None
    for name in snapshots:
        started = time.perf_counter()
        try:
            state, meta = snapshot.read(data_dir, name, rules)
        except CorruptFile as error:
            moved.append(move_aside(data_dir, name, "corrupt", error.reason))
            reasons.append(f"{name} ({error.reason})")
            continue
        except OSError as error:
            where = data_dir.where(name)
            raise StartupError(f"cannot read {where}: {error.strerror or error}") from error
        log.info(
            "snapshot loaded",
            extra={
                "event": "snapshot_load",
                "file": name,
                "players": len(state.players),
                "version": meta.version,
                "journal_next": meta.journal_next,
                "ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        loaded = (name, state, meta)
        break

    if loaded is not None:
        name, state, meta = loaded
        covers = meta.journal_next
        result = Recovered(
            state,
            meta.version,
            covers if name == snapshot.CURRENT else None,
            covers if name == snapshot.PREVIOUS else None,
            covers,
            moved_aside=moved,
        )
    elif segments and segments[0][0] == FIRST_SEGMENT:
        log.warning(
            "no valid snapshot; replaying the whole journal",
            extra={"event": "replay_from_start"},
        )
        state = new_state(rules, planet_names)
        result = Recovered(state, None, None, None, FIRST_SEGMENT, moved_aside=moved)
    else:
        if segments:
            reasons.append(f"the journal starts at segment {segments[0][0]}, not at the first")
        if earlier:
            # A refused start moved the bad files aside; the next start must refuse again.
            reasons.append("files moved aside by an earlier start: " + ", ".join(earlier))
        if not start_empty:
            raise StartupError(_no_state_message(data_dir, reasons, moved))
        for _, name in segments:
            moved.append(move_aside(data_dir, name, "unused", "no snapshot to replay it on"))
        log.warning(
            "no valid saved state; starting an empty game as --start-empty asks",
            extra={"event": "start_empty", "moved_aside": moved},
        )
        result = Recovered(
            new_state(rules, planet_names), None, None, None, FIRST_SEGMENT, moved_aside=moved
        )
        # Segment 1 may be the name of a file moved aside; the new game starts from a snapshot.
        _save_recovered(data_dir, result)
        return result

    _replay(data_dir, result, rules)
    _warn_planets(result.state, planet_names)
    remaining = [n + 1 for n, _ in journal.list_segments(data_dir)]
    result.next_segment = max([result.next_segment, *remaining])
    if result.moved_aside or result.tails_cut or _highest_segment(data_dir) >= result.next_segment:
        # The last condition: an earlier start moved files aside and could not save after it.
        _save_recovered(data_dir, result)
    return result


def _save_recovered(data_dir: DataDir, result: Recovered) -> None:
    """Write the recovered state as the current snapshot before anything is served.

    Without it the recovered records live only in memory: a start after a crash would read the
    files as they are now, which hold either less (a segment moved aside) or records numbered as
    if they followed another state. The snapshot records a first segment above every number in
    the directory, so the journal never writes a name a moved-aside file carries, and a replay
    from this snapshot meets none of the old segments. The old snapshot.bin, if it was the one
    loaded, becomes snapshot.prev.bin as in every save; the saver's bookkeeping follows that.
    """
    fresh = _highest_segment(data_dir) + 1
    started = time.perf_counter()
    try:
        size = snapshot.save(data_dir, result.state, fresh)
    except OSError as error:
        raise StartupError(
            f"cannot save the recovered state in {data_dir.path}: {error.strerror or error}; "
            "the server does not serve a state that only lives in memory (every file is kept)"
        ) from error
    if result.current_covers is not None:
        result.previous_covers = result.current_covers
    result.current_covers = fresh
    result.saved_version = result.state.version
    result.next_segment = fresh
    log.warning(
        "recovered state saved before serving",
        extra={
            "event": "recovery_snapshot",
            "journal_next": fresh,
            "players": len(result.state.players),
            "version": result.state.version,
            "bytes": size,
            "ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )


def _highest_segment(data_dir: DataDir) -> int:
    """The highest segment number any file name in the directory carries, moved aside or not."""
    numbers = [0]
    for name in data_dir.names():
        match = SEGMENT_NUMBER.match(name)
        if match:
            numbers.append(int(match.group(1)))
    return max(numbers)


def _replay(data_dir: DataDir, result: Recovered, rules: Rules) -> None:
    """Apply the segments from ``result.next_segment`` on, in order, stopping at a gap."""
    state = result.state
    started = time.perf_counter()
    expected = result.next_segment
    live = [(n, p) for n, p in journal.list_segments(data_dir) if n >= expected]
    count = 0
    for i, (number, name) in enumerate(live):
        if number != expected:
            _move_rest(data_dir, result, live[i:], f"segment {expected} is missing before it")
            break
        reader = journal.SegmentReader(data_dir, name)
        frames = reader.frames()
        state.rules = _segment_rules(next(frames, None), rules)
        for record in frames:
            count += 1
            try:
                commands.apply(state, record)
            except GameError:
                result.refused += 1  # refused live too: the journal is written ahead of applying
            except Exception as error:  # a bug, replayed to the same point as it happened live
                result.failed += 1
                if result.failed <= 5:
                    log.warning(
                        "a journal record failed on replay as it did live",
                        extra={
                            "event": "replay_failed",
                            "op": command_types.op(record),
                            "error": str(error),
                        },
                    )
        expected += 1
        if reader.problem == "torn" and i == len(live) - 1:
            _cut_tail(data_dir, reader)  # only the segment being written when the process died
            result.tails_cut += 1
        elif reader.problem == "torn":
            # An earlier segment cut short is a gap, whatever the later segments hold.
            cut = f"cut short before a later segment: {reader.detail}"
            _move_rest(data_dir, result, live[i:], cut)
            break
        elif reader.problem == "corrupt":
            _move_rest(data_dir, result, live[i:], reader.detail)
            break
    state.rules = rules
    state.outbox = []  # events of the past: no page is connected to hear them
    bulk.interrupt_running(state)  # a job the journal stepped has no one stepping it now
    result.replayed = count
    seconds = time.perf_counter() - started
    log.info(
        "journal replayed",
        extra={
            "event": "journal_replay",
            "records": count,
            "refused": result.refused,
            "failed": result.failed,
            "segments": len(live),
            "ms": round(seconds * 1000, 1),
        },
    )


def _segment_rules(header: Any, rules: Rules) -> Rules:
    """The rules the segment was written under, so replay throttles as the live game did."""
    saved = header.get("rules") if isinstance(header, dict) else None
    if not isinstance(saved, dict):
        return rules
    known = {f.name for f in dataclasses.fields(Rules)}
    try:
        return dataclasses.replace(rules, **{k: v for k, v in saved.items() if k in known})
    except (TypeError, ValueError):
        return rules


def _cut_tail(data_dir: DataDir, reader: journal.SegmentReader) -> None:
    """Truncate a torn last record; keep its bytes aside unless they are only zeros."""
    name, good_end, size = reader.name, reader.good_end, reader.size
    with data_dir.open_file(name, "r+b") as f:
        f.seek(good_end)
        tail = f.read(size - good_end)
        kept = None
        if tail.strip(b"\0"):
            kept = _aside_name(data_dir, name, "torn")
            with data_dir.open_file(kept, "xb") as out:
                out.write(tail)
                out.flush()
                os.fsync(out.fileno())
        f.truncate(good_end)
        f.flush()
        os.fsync(f.fileno())
    log.warning(
        "journal tail cut off",
        extra={
            "event": "journal_torn",
            "file": name,
            "at": good_end,
            "bytes": size - good_end,
            "kept_in": kept,
            "detail": reader.detail,
        },
    )


def _move_rest(
    data_dir: DataDir, result: Recovered, rest: list[tuple[int, str]], reason: str
) -> None:
    for _, name in rest:
        result.moved_aside.append(move_aside(data_dir, name, "corrupt", reason))


def move_aside(data_dir: DataDir, name: str, kind: str, reason: str) -> str:
    """Rename a file out of the way, never over another file, and say so in the log."""
    target = _aside_name(data_dir, name, kind)
    data_dir.rename(name, target)
    log.error(
        "file moved aside",
        extra={"event": "moved_aside", "file": name, "to": target, "reason": reason},
    )
    return target


def _aside_name(data_dir: DataDir, name: str, kind: str) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = f"{name}.{kind}-{stamp}"
    n = 1
    while data_dir.exists(target):
        target = f"{name}.{kind}-{stamp}-{n}"
        n += 1
    return target


def _remove_stale_temps(data_dir: DataDir) -> None:
    """A temporary snapshot is a write that never finished; the files it would replace stay."""
    for name in data_dir.names():
        if name.startswith(snapshot.TEMP_PREFIX):
            data_dir.unlink(name, missing_ok=True)


def _warn_planets(state: GameState, planet_names: list[str]) -> None:
    if list(state.planets) != list(planet_names):
        log.warning(
            "the saved planets differ from the planets file; the saved ones are kept",
            extra={"event": "planets_differ", "saved": list(state.planets), "file": planet_names},
        )


def _no_state_message(data_dir: DataDir, reasons: list[str], moved: list[str]) -> str:
    parts = [f"no valid saved state in {data_dir.path}: " + "; ".join(reasons) + "."]
    if moved:
        parts.append("Moved aside, not deleted: " + ", ".join(moved) + ".")
    parts.append("Start with --start-empty to begin a new, empty game.")
    return " ".join(parts)
