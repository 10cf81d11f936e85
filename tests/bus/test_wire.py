"""The bytes on Redis (SPEC §11): every command, reply and error survives the trip unchanged.

Commands go through the journal's tagged union, so a command that fits no model is refused with
the field named, and only its own call is. Replies are the engine's real results: each command
runs on a real game and its outcome, a result or a refusal, must reach the gateway as the same
value (the same bytes once the server encodes it) or the same GameError.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from bus import wire
from engine import command_types, commands, errors
from engine import command_types as c
from engine.admin import bulk
from engine.admin.query import PlayerFilter
from engine.clicks import PushResult
from engine.errors import GameError, InvalidRequest, RateLimited, Unavailable
from engine.state import GameState
from tests.bus.publisher import Publisher
from tests.conftest import T0

ADMIN = {"admin": "ops", "reason": "why"}
# One example of every command, in an order in which each finds what it needs on the game.
EXAMPLES: list[c.Command] = [
    c.Tick(),
    c.CreatePlayer(player_id="p1", name="ann"),
    c.CreatePlayer(player_id="p2"),
    c.CreatePlayer(player_id="p3", name="cé"),
    c.Push(player_id="p1", batch_id="b-1", clicks=[5, 3]),
    c.Rename(player_id="p2", name="bob"),
    c.MovePlayer(player_id="p2", planet="mars"),
    c.SetStatus(player_id="p3", status="active"),
    c.Ban(player_id="p3", revoke_round_clicks=True),
    c.Unban(player_id="p3"),
    c.ResetScore(player_id="p3"),
    c.QueueRound(target=50, seconds=30.0, planets=["earth", "mars"]),
    c.AdminEndRound(**ADMIN),  # the round queued above starts at the next tick after the break
    c.AdminPatchPlayer(player_id="p2", name="bee", score=7, **ADMIN),
    c.AdminBan(player_id="p3", revoke_round_clicks=False, duration_seconds=60.0, **ADMIN),
    c.AdminUnban(player_id="p3", **ADMIN),
    c.AdminResetScore(player_id="p2", **ADMIN),
    c.AdminKick(player_id="p2", **ADMIN),
    c.AdminBatch(
        operations=[c.PlayerOperation(action="reset_score", player_id="p1", reason="x")], **ADMIN
    ),
    c.AdminFlag(player_id="p1", **ADMIN),
    c.AdminIntervention(intervention_id=1, assignee="ops", note="looking", **ADMIN),
    c.AdminBulkCreate(action="move_planet", player_ids=["p1", "p2"], planet="earth", **ADMIN),
    c.AdminBulkStep(job_id=1, limit=1, **ADMIN),
    c.AdminBulkResume(job_id=1, **ADMIN),  # interrupted first, as a restart leaves a running job
    c.AdminBulkCancel(job_id=1, **ADMIN),
    c.AdminPause(**ADMIN),
    c.AdminResume(**ADMIN),
    c.AdminQueueRound(target=60, seconds=20.0, **ADMIN),
    c.GetMe(player_id="p1"),
    c.GetLeaderboard(scope="all", limit=5, around="p1"),
    c.GetRounds(limit=5),
    c.AdminListPlayers(query={"search": "b", "sort": "score", "limit": "5"}),
    c.AdminGetPlayer(player_id="p1"),
    c.AdminGetAudit(query={"limit": "5"}),
    c.AdminListInterventions(query={}),
    c.AdminGetBulkJob(job_id=1),
    c.AdminListBulkJobs(),
    c.AdminBulkPreview(action="ban", filter=PlayerFilter(search="b")),
    c.AdminGetGame(),
    c.Tick(),
    c.EndRound(),
]


def outcome(state: GameState, cmd: c.Command, now: float) -> tuple[bool, Any]:
    """What the actor would release for ``cmd``: its result, or the error it raised."""
    try:
        if type(cmd) in commands.QUERIES:
            return True, commands.query(state, command_types.stamped(cmd, now))
        return True, commands.apply(state, command_types.stamped(cmd, now))
    except GameError as error:
        return False, error


def through_the_bus(ok: bool, value: Any) -> tuple[bool, Any]:
    """One reply written by the engine and read by the gateway."""
    [(call_id, got_ok, got)] = wire.decode_replies(wire.encode_replies([(7, ok, value)]))
    assert call_id == 7
    return got_ok, got


def same_error(left: BaseException, right: BaseException) -> bool:
    return (
        type(left) is type(right)
        and isinstance(left, GameError)
        and isinstance(right, GameError)
        and (left.code, left.message, left.details, left.args)
        == (right.code, right.message, right.details, right.args)
        and getattr(left, "retry_after", None) == getattr(right, "retry_after", None)
    )


def test_the_examples_cover_every_command() -> None:
    """Each mutation and query of the engine has its example here."""
    assert {type(cmd) for cmd in EXAMPLES} == set(c.MUTATIONS + c.QUERIES)


def test_every_command_arrives_as_the_same_typed_command() -> None:
    """A batch of every command is read back into equal commands of the same types."""
    calls = [(n, command_types.stamped(cmd, T0 + n)) for n, cmd in enumerate(EXAMPLES, 1)]
    gateway, got = wire.decode_calls(wire.encode_calls("gw-1", calls))
    assert gateway == "gw-1"
    assert got == calls
    assert [type(cmd) for _, cmd in got] == [type(cmd) for _, cmd in calls]


def test_every_commands_reply_arrives_as_what_the_actor_returned(state: GameState) -> None:
    """Each command's real result reads back equal, encoding to the same bytes for the client."""
    failed = []
    for n, cmd in enumerate(EXAMPLES):
        if type(cmd) is c.AdminBulkResume:
            bulk.interrupt_running(state)
        ok, value = outcome(state, cmd, T0 + 1 + n)
        got_ok, got = through_the_bus(ok, value)
        assert got_ok == ok
        if not ok:
            failed.append((type(cmd).__name__, value))
            assert same_error(got, value)
            continue
        assert msgspec.json.encode(got) == msgspec.json.encode(value)
        assert type(got) is type(value) or isinstance(value, dict | list | None)
    assert failed == []  # every example succeeded, so every result type was carried


def test_a_push_result_is_a_push_result_again() -> None:
    """The server reads a push's result by attribute: the gateway gets the dataclass back."""
    value = PushResult("b-1", 5, 2, True, 120, 40, 3, None, 5000, 1.0)
    ok, got = through_the_bus(True, value)
    assert ok and got == value and type(got) is PushResult


def every_error() -> list[GameError]:
    classes = [cls for cls in vars(errors).values() if isinstance(cls, type)]
    made: list[GameError] = []
    for cls in classes:
        if not issubclass(cls, GameError) or cls is GameError:
            continue
        if cls is RateLimited:
            made.append(RateLimited("too soon", retry_after=0.4567))
        else:
            made.append(cls(f"a {cls.__name__}", {"field": "x", "n": [1, 2]}))
    busy = Unavailable("the server is busy", {"retry_after": 2})
    busy.retry_after = 2  # as the overload sets it
    return [*made, busy, InvalidRequest("no details")]


@pytest.mark.parametrize("error", every_error(), ids=lambda e: type(e).__name__)
def test_every_game_error_is_rebuilt_as_the_same_class(error: GameError) -> None:
    """The gateway raises the engine's refusal as the same class with the same fields."""
    ok, got = through_the_bus(False, error)
    assert not ok and same_error(got, error)


def test_an_error_code_this_side_does_not_know_is_still_a_game_error() -> None:
    """A newer engine's code reaches the client as that code, not as a crash."""
    raw = msgspec.msgpack.encode([[1, [0, "brand_new", "new rule", {"a": 1}, None]]])
    [(_, ok, got)] = wire.decode_replies(raw)
    assert not ok and isinstance(got, GameError)
    assert (got.code, got.message, got.details) == ("brand_new", "new rule", {"a": 1})


def test_a_bug_in_the_engine_is_an_engine_failure_without_its_text() -> None:
    """A command that crashed the engine's handler fails its caller as a bug, naming nothing."""
    ok, got = through_the_bus(False, KeyError("secret-internal-name"))
    assert not ok and isinstance(got, wire.EngineFailure)
    assert "secret" not in str(got)


def test_a_result_that_cannot_be_encoded_fails_only_its_own_call() -> None:
    """The other replies of the entry still arrive when one result is not encodable."""
    replies = [
        (1, True, {"fine": 1}),
        (2, True, {"bad": object()}),
        (3, False, InvalidRequest("x")),
    ]
    got = wire.decode_replies(wire.encode_replies(replies))
    assert [(cid, ok) for cid, ok, _ in got] == [(1, True), (2, False), (3, False)]
    assert got[0][2] == {"fine": 1}
    assert isinstance(got[1][2], wire.EngineFailure)
    assert isinstance(got[2][2], InvalidRequest)


GOOD = {"op": "push", "player_id": "p", "batch_id": "b-1", "clicks": [5], "now": 0.0}


@pytest.mark.parametrize(
    ("bad", "details"),
    [
        ({**GOOD, "clicks": [1, "2"]}, {"field": "clicks", "at": "clicks[1]"}),
        ({k: v for k, v in GOOD.items() if k != "batch_id"}, {"field": "batch_id"}),
        ({**GOOD, "colour": "red"}, {"fields": ["colour"]}),
        ({"op": "explode"}, {"field": "op"}),
        ([1, 2, 3], {}),
    ],
)
def test_a_command_that_fits_no_model_is_refused_alone(bad: Any, details: Any) -> None:
    """One malformed command becomes the InvalidRequest naming its field; its neighbours pass."""
    payload = msgspec.msgpack.encode(["gw", [[1, GOOD], [2, bad], [3, GOOD]]])
    gateway, calls = wire.decode_calls(payload)
    assert gateway == "gw" and [cid for cid, _ in calls] == [1, 2, 3]
    assert calls[0][1] == calls[2][1] == c.Push(player_id="p", batch_id="b-1", clicks=[5])
    refused = calls[1][1]
    assert isinstance(refused, InvalidRequest) and refused.details == details


@pytest.mark.parametrize("payload", [b"\xc1", msgspec.msgpack.encode({"not": "a batch"})])
def test_an_entry_that_is_not_a_batch_at_all_raises(payload: bytes) -> None:
    """With no call ids to answer, an unreadable entry is the reader's to log and skip."""
    with pytest.raises(msgspec.DecodeError):
        wire.decode_calls(payload)


def test_a_publication_arrives_with_the_same_board_and_frames() -> None:
    """The whole board and every subprotocol's frame bytes come through unchanged."""
    engine = Publisher()
    engine.game.step(("create", "ann"))
    engine.game.step(("push", 0, 4))
    engine.publish()
    engine.game.step(("create", "bob"))
    publication = engine.publish()
    got = wire.decode_publication(wire.encode_publication(publication))
    assert got == publication and got.board == publication.board


def test_events_arrive_as_the_same_plain_values() -> None:
    """A turn's round and admin events reach every gateway as the same JSON."""
    engine = Publisher()
    engine.game.step(("create", "ann"))
    engine.game.step(("end_round",))
    events = [*engine.game.state.outbox, {"event": "admin", "data": {"kind": "ban"}, "banned": []}]
    got = wire.decode_events(wire.encode_events(events))
    assert msgspec.json.encode(got) == msgspec.json.encode(events)
