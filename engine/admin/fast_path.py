"""The bot detectors' fast path (SPEC §8): an obvious bot flagged within seconds, not minutes.

The detectors of ``engine/admin/interventions.py`` judge two-minute windows, so a blatant bot played
on unflagged until its window closed. The fast path runs beside them on the same push and the
same running sums: every ``FAST_HALF`` intervals it marks the window's sums, and the sums now
less those of two marks ago are the last ``FAST_PUSHES`` intervals. A push between two marks
costs one comparison. It flags clicks offered at ``FAST_RATE`` times ``MAX_CPS`` or more (no
hand keeps that up) whose intervals and counts barely vary (the machine rhythm's
coefficients, ``CV_INTERVAL`` and ``CV_COUNT``). Both conditions, never one alone: a fast
but irregular player (a person on a good day, an auto-clicker with jitter) is left to the
windows, and so is a regular one at a person's pace.
A bot at twice ``MAX_CPS`` pushing once a second is flagged at its eleventh push, one that turns
fast at most 15 pushes after it did (25 when a window closes meanwhile: the marks restart with
the window).

Marks, not sums of its own: the detectors alone (``bench/engine_bench.py``'s last line, 20,000
players, 10,000 pushing, best of three runs each, before and after back to back on a loaded
2-core machine) cost 2.40 µs a push without the fast path, 2.57 µs with the marks, and
4.58 µs with four running sums of its own per push (the first try).
"""

from __future__ import annotations

import math
from typing import Any, Protocol

FAST_PUSHES = 10  # intervals judged together
FAST_HALF = FAST_PUSHES // 2  # judged at the end of each half, with the half before
FAST_RATE = 1.5  # clicks offered a second, in MAX_CPS, from which the fast path looks closer
CV_INTERVAL = 0.10  # the machine rhythm: intervals whose coefficient of variation is at most
CV_COUNT = 0.05  # this, and counts whose is at most this


class WindowSums(Protocol):
    """What the fast path reads of a player's ``PushStats``: the window's running sums (each
    interval with the clicks offered at its end) and its own marks of them."""

    sum_dt: float
    sum_dt2: float
    sum_count: float
    sum_count2: float
    fast_marks: list[list[float]]


def cv(total: float, squares: float, n: int) -> float | None:
    """Coefficient of variation (population) from running sums; None below two samples."""
    if n < 2 or total <= 0:
        return None
    mean = total / n
    return round(math.sqrt(max(0.0, squares / n - mean * mean)) / mean, 4)


def mark(sums: WindowSums, max_cps: int) -> dict[str, Any] | None:
    """``FAST_HALF`` more intervals: mark the window's sums, and judge the last ``FAST_PUSHES``
    intervals (the sums now less those two marks ago).

    Returns the evidence when they look like a bot, else None (the common case costs one
    comparison).
    """
    marks = sums.fast_marks
    marks.append([sums.sum_dt, sums.sum_dt2, sums.sum_count, sums.sum_count2])
    if len(marks) > 3:
        del marks[0]
    elif len(marks) < 3:
        return None
    (dt0, dt20, count0, count20), (dt1, dt21, count1, count21) = marks[0], marks[2]
    sum_dt, sum_count = dt1 - dt0, count1 - count0
    if sum_count < FAST_RATE * max_cps * sum_dt:
        return None
    cv_interval = cv(sum_dt, dt21 - dt20, FAST_PUSHES)
    cv_count = cv(sum_count, count21 - count20, FAST_PUSHES)
    if cv_interval is None or cv_interval > CV_INTERVAL:
        return None
    if cv_count is None or cv_count > CV_COUNT:
        return None
    return {
        "fast": True,
        "pushes": FAST_PUSHES,
        "clicks_per_second": round(sum_count / sum_dt, 2),
        "mean_interval": round(sum_dt / FAST_PUSHES, 4),
        "cv_interval": cv_interval,
        "mean_count": round(sum_count / FAST_PUSHES, 4),
        "cv_count": cv_count,
        "thresholds": {
            "clicks_per_second": FAST_RATE * max_cps,
            "cv_interval": CV_INTERVAL,
            "cv_count": CV_COUNT,
        },
    }
