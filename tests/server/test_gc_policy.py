"""The garbage-collection policy (server/gc_policy.py): freezes as sockets open, measures pauses."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from server.gc_policy import FREEZE_MIN_SOCKETS, GcPolicy
from server.metrics import Metrics


@pytest.fixture
def policy() -> Iterator[GcPolicy]:
    threshold = gc.get_threshold()
    policy = GcPolicy(Metrics())
    policy.install()
    yield policy
    policy.uninstall()
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_start_up_freezes_the_heap_and_every_collection_is_timed(policy: GcPolicy) -> None:
    """After install the heap is frozen, and a collection shows up in the pause histogram."""
    assert gc.get_freeze_count() > 0
    assert policy.longest_own > 0  # the start-up collection, timed apart
    gc.collect(0)
    count = policy.metrics.registry.get_sample_value("gc_pause_seconds_count", {"generation": "0"})
    assert count is not None and count >= 1
    assert policy.collections[0] >= 1


def test_the_heap_is_frozen_again_as_sockets_open_and_thawed_when_they_leave(
    policy: GcPolicy,
) -> None:
    """Growth by a quarter refreezes; once as many sockets closed as were frozen, it thaws."""
    policy.frozen_at = 0.0  # long ago
    policy.check(FREEZE_MIN_SOCKETS - 1)
    assert policy.freezes == 0
    policy.check(FREEZE_MIN_SOCKETS)
    assert policy.freezes == 1 and policy.frozen_sockets == FREEZE_MIN_SOCKETS
    policy.check(FREEZE_MIN_SOCKETS * 3)
    assert policy.freezes == 1  # not twice within FREEZE_EVERY
    for _ in range(FREEZE_MIN_SOCKETS):
        policy.socket_closed()
    policy.check(0)
    assert policy.unfreezes == 1 and gc.get_freeze_count() == 0


def test_the_default_policy_only_measures() -> None:
    """GC_POLICY=default leaves CPython's collector as it is."""
    threshold = gc.get_threshold()
    policy = GcPolicy(Metrics(), tuned=False)
    policy.install()
    try:
        assert gc.get_threshold() == threshold
        policy.check(10_000)
        assert policy.freezes == 0
    finally:
        policy.uninstall()
