"""The typed commands (``engine/command_types.py``): one model per op, one handler per model,
and a plain dict read into its model or refused naming the field."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from engine import command_types, commands
from engine.command_types import (
    AdminBan,
    AdminPatchPlayer,
    CheckedPush,
    CreatePlayer,
    Push,
    Tick,
    parse,
)
from engine.errors import InvalidRequest


def test_every_command_has_one_handler_and_every_handler_a_command() -> None:
    """The handler tables are keyed by exactly the declared mutations and queries (and the
    server's checked push, journaled as a push), and no op is both or declared twice."""
    assert set(commands.MUTATIONS) == {*command_types.MUTATIONS, CheckedPush}
    assert set(commands.QUERIES) == set(command_types.QUERIES)
    ops = [model.__struct_config__.tag for model in command_types.MUTATIONS + command_types.QUERIES]
    assert len(ops) == len(set(ops)) == len(commands.MUTATIONS) - 1 + len(commands.QUERIES)


def test_a_checked_push_is_journaled_and_read_back_as_a_push() -> None:
    """The server's checked push encodes as the plain push record, and decodes as a Push, so a
    replay from disk checks its shape again."""
    checked = CheckedPush(player_id="a", batch_id="b", clicks=[3], now=2.0)
    record = msgspec.msgpack.encode(checked)
    assert msgspec.msgpack.decode(record) == {
        "op": "push",
        "player_id": "a",
        "batch_id": "b",
        "clicks": [3],
        "now": 2.0,
    }
    read_back = msgspec.msgpack.decode(record, type=command_types.MUTATION)
    assert type(read_back) is Push and read_back == Push(
        player_id="a", batch_id="b", clicks=[3], now=2.0
    )


def test_a_dict_is_read_into_its_command() -> None:
    """The op picks the model; fields left out take their defaults, ints are read as times."""
    assert parse({"op": "tick", "now": 5}) == Tick(now=5.0)
    assert parse({"op": "create_player", "player_id": "a"}) == CreatePlayer(player_id="a")
    patch = parse({"op": "admin_patch_player", "player_id": "a", "score": 3, "admin": "t"})
    assert patch == AdminPatchPlayer(player_id="a", score=3, admin="t")
    assert patch.name is msgspec.UNSET  # a patch changes only the fields it was given


@pytest.mark.parametrize(
    ("raw", "details"),
    [
        (
            {"op": "push", "player_id": "a", "batch_id": "b", "clicks": [1, "2"]},
            {"field": "clicks", "at": "clicks[1]"},
        ),
        ({"op": "push", "player_id": "a", "clicks": [1]}, {"field": "batch_id"}),
        (
            {"op": "admin_ban", "player_id": "a", "revoke_round_clicks": "yes"},
            {"field": "revoke_round_clicks"},
        ),
        ({"op": "unban", "player_id": "a", "why": "x"}, {"fields": ["why"]}),
        ({"op": "explode"}, {"field": "op"}),
        ({"player_id": "a"}, {"field": "op"}),
    ],
)
def test_a_dict_that_fits_no_command_names_the_field(
    raw: dict[str, Any], details: dict[str, Any]
) -> None:
    """A wrong type, a missing or unknown field, or an unknown op is an invalid request whose
    details name the field as the engine's own checks do."""
    with pytest.raises(InvalidRequest) as refused:
        parse(raw)
    assert refused.value.details == details


def test_stamping_gives_a_new_command_at_that_time() -> None:
    """The actor's stamp leaves the caller's command as it was."""
    push = Push(player_id="a", batch_id="b", clicks=[5])
    at = command_types.stamped(push, 12.5)
    assert (at.now, push.now) == (12.5, 0.0)
    assert at == Push(player_id="a", batch_id="b", clicks=[5], now=12.5)
    assert (
        command_types.op(at) == "push" and command_types.op(AdminBan(player_id="a")) == "admin_ban"
    )
