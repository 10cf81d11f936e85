"""The one push path (SPEC §4), shared by ``POST /api/push_clicks`` and the ``clicks`` message.

A push is validated by its model, applied by the actor, labelled and counted here and nowhere
else; each transport only decodes what arrived and formats what came back. A refused push
changes nothing: validation happens before the actor is called, and the actor gets a
``CheckedPush`` the engine need not check again. HTTP awaits the actor's reply (``push``); the
socket hands the actor a reply function instead (``send``), which writes the ``ack`` after the
turn's commit without a future or a task switch of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bus.link import GameLink, Reply
from engine.clicks import PushResult
from engine.command_types import CheckedPush
from engine.errors import GameError, NotFound, Unavailable
from server.errors import Unauthorized
from server.keys import GAME, METRICS, SETTINGS
from server.metrics import Metrics
from server.models import PushFields, PushModels, push_models_for
from server.validation import validate

# pushes_total{result}: a push counts as ok, duplicate or throttled, a refusal under its error
# code, and a malformed push (a bad body included) as "invalid".
RESULTS = (
    "ok",
    "duplicate",
    "throttled",
    "rate_limited",
    "invalid",
    "banned",
    "round_not_active",
    "unauthorized",
)
INVALID_CODES = frozenset({"invalid_request", "payload_too_large", "unsupported_media_type"})


@dataclass(slots=True)
class PushPath:
    """What a push needs besides the actor: its models and the metric series, made once.

    Pushes the actor applied are counted in plain numbers and added to the metrics in one go
    (``flush``): a Prometheus increment takes a lock, and a socket's pushes are counted inside
    the actor's turn, which flushes once it is over (a turn observer, ``server/app.py``).
    """

    models: PushModels
    metrics: Metrics
    series: dict[str, Any] = field(default_factory=dict)  # pushes_total by result
    unflushed: dict[str, int] = field(default_factory=dict)  # results counted since the flush
    clicks_unflushed: list[int] = field(default_factory=lambda: [0, 0])  # accepted, throttled

    def __post_init__(self) -> None:
        # Present at 0 from the start, as Prometheus advises for known label values; looked up
        # once each, since labels() is not free.
        for result in RESULTS:
            self.series[result] = self.metrics.pushes_total.labels(result=result)

    def refused(self, error: GameError) -> None:
        """Count a push refused for ``error``, wherever it was refused."""
        self.count("invalid" if error.code in INVALID_CODES else error.code)

    def count(self, result: str) -> None:
        series = self.series.get(result)
        if series is None:  # a refusal code not listed up front: still a small, fixed set
            series = self.series[result] = self.metrics.pushes_total.labels(result=result)
        series.inc()

    async def push(
        self, actor: GameLink, player_id: str, data: dict[str, Any], model: type[PushFields]
    ) -> PushResult:
        """Validate ``data`` (the decoded request) with ``model``, apply it, count the outcome.

        Raises the refusal as a GameError, already counted; a player the game does not know
        is ``unauthorized``: its token outlived it.
        """
        try:
            request = validate(data, model)
            if not actor.running:
                raise Unavailable("the game is not running")
            cmd = CheckedPush(player_id=player_id, batch_id=request.batch_id, clicks=request.clicks)
            result: PushResult = await actor.call(cmd)
        except GameError as error:
            raise self.refusal(error) from None
        self.applied(result)
        self.flush()
        return result

    def send(self, actor: GameLink, player_id: str, request: PushFields, reply: Reply) -> None:
        """Hand a push its model has checked to the actor; ``reply(result, error)`` runs after
        the turn's commit (inside the turn), and calls ``applied`` or ``refusal`` itself."""
        if not actor.running:
            reply(None, Unavailable("the game is not running"))
            return
        cmd = CheckedPush(player_id=player_id, batch_id=request.batch_id, clicks=request.clicks)
        actor.send(cmd, reply)

    def applied(self, result: PushResult) -> PushResult:
        """Count a push the actor applied (ok, duplicate or throttled) and its clicks, until
        the next ``flush``."""
        unflushed = self.unflushed
        if result.duplicate:
            outcome = "duplicate"
        elif result.throttled:
            outcome = "throttled"
            self.clicks_unflushed[1] += result.throttled
        else:
            outcome = "ok"
        unflushed[outcome] = unflushed.get(outcome, 0) + 1
        if result.accepted and not result.duplicate:
            self.clicks_unflushed[0] += result.accepted
        return result

    def flush(self, *_: Any) -> None:
        """Add what ``applied`` counted to the metrics (also a turn observer: the arguments)."""
        unflushed = self.unflushed
        if not unflushed:
            return
        for outcome, count in unflushed.items():
            self.series[outcome].inc(count)
        unflushed.clear()
        accepted, throttled = self.clicks_unflushed
        if accepted:
            self.metrics.clicks_accepted_total.inc(accepted)
        if throttled:
            self.metrics.clicks_throttled_total.inc(throttled)
        self.clicks_unflushed[:] = [0, 0]

    def refusal(self, error: GameError) -> GameError:
        """Count a refused push; the error to answer with (an unknown player: its token
        outlived it, so ``unauthorized``)."""
        if isinstance(error, NotFound):
            error = Unauthorized("this token's player does not exist")
        self.refused(error)
        return error


PUSH = web.AppKey("push", PushPath)


def setup(app: web.Application) -> None:
    app[PUSH] = PushPath(push_models_for(app[SETTINGS].rules), app[METRICS])
    app.on_startup.append(_flush_after_turns)  # after the game's start (cleanup_ctx goes first)


async def _flush_after_turns(app: web.Application) -> None:
    """What a turn's socket replies counted reaches the metrics once the turn is over."""
    app[GAME].turn_observers.append(app[PUSH].flush)
