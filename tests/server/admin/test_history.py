"""The admin figures' 10-minute history: bounded by age on the game clock and by count."""

from __future__ import annotations

from server.admin.history import MAX_POINTS, SPAN, MetricsHistory
from tests.conftest import T0


def test_the_history_keeps_ten_minutes_of_points_at_its_interval() -> None:
    """At a 5 s interval at most 120 points are kept, the newest, oldest first."""
    history = MetricsHistory(5.0)
    for i in range(130):
        history.add({"at": T0 + i * 5})
    points = history.recent(T0 + 129 * 5)
    assert len(points) == SPAN / 5
    assert [p["at"] for p in points] == [T0 + i * 5 for i in range(10, 130)]


def test_a_short_interval_keeps_fewer_minutes_rather_than_more_points() -> None:
    """Below 0.5 s the count bound holds: never more than MAX_POINTS points."""
    history = MetricsHistory(0.1)
    for i in range(MAX_POINTS + 50):
        history.add({"at": T0 + i * 0.1})
    assert len(history.recent(T0 + (MAX_POINTS + 49) * 0.1)) == MAX_POINTS


def test_a_quiet_stretch_empties_the_history() -> None:
    """Read 10 minutes after the last sample, the history is empty: its points are too old."""
    history = MetricsHistory(5.0)
    history.add({"at": T0})
    assert history.message(T0 + SPAN + 1) == {
        "type": "history",
        "data": {"interval": 5.0, "points": []},
    }
