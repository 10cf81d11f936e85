"""The gateway's board follower (SPEC §11): what to do with each publication, without I/O.

A gateway subscribes to the board channel first, then reads the latest publication (r/place's
order), and hands both, and everything published after, to ``BoardFeed.take`` as they come, in
whatever order they arrive. Every client of the gateway holds the board of ``held``: new clients
get a snapshot of it, and the feed moves ``held`` only where every client can follow. For each
publication it answers one of three things:

- **forward**: it builds on exactly the board the clients hold (same epoch, ``base`` is the
  held version), so its ready frames go to every socket unchanged (Centrifugo's recovery);
- **snapshot**: it is newer but does not build on what the clients hold (the first board after
  joining, a gap, a new epoch), so every client is sent the whole board instead, never a
  partial one;
- **drop**: it is not newer than what the clients hold (a duplicate, a late one, a straggler of
  an earlier epoch; or the latest read that the subscription already delivered).

Epochs grow with every engine start (``bus/wire.py``), and board versions start again with the
engine, so the pair (epoch, version) orders publications and a version number is never compared
across epochs. After a reconnect the feed still knows what its clients hold, so the first
publication is forwarded when it builds on that and is a gap like any other when it does not.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bus.wire import Publication


class Action(enum.Enum):
    FORWARD = "forward"
    SNAPSHOT = "snapshot"
    DROP = "drop"


@dataclass(slots=True)
class BoardFeed:
    held: Publication | None = None  # the board every client of the gateway holds
    forwarded: int = 0
    snapshots: int = 0
    dropped: int = 0
    gaps: int = 0  # snapshots because publications went missing
    epochs: int = 0  # snapshots because the engine started again

    def take(self, publication: Publication) -> Action:
        """What the gateway does with ``publication``; ``held`` follows the answer."""
        held = self.held
        if held is not None:
            if (publication.epoch, publication.version) <= (held.epoch, held.version):
                self.dropped += 1
                return Action.DROP
            if publication.epoch == held.epoch and publication.base == held.version:
                self.held = publication
                self.forwarded += 1
                return Action.FORWARD
            if publication.epoch != held.epoch:
                self.epochs += 1
            else:
                self.gaps += 1
        self.held = publication
        self.snapshots += 1
        return Action.SNAPSHOT
