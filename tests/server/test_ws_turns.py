"""Pushes over the socket are answered by the actor's turn (SPEC §6 ``ack``), several to a turn.

The app's turns linger long here (``TURN_LINGER``), so pushes wait for each other until a call,
whose caller waits, starts the turn: what one turn holds is then up to the test.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from actor.actor import Actor
from engine.command_types import GetMe, Push
from server import app as app_module
from server.broadcaster import BROADCASTER
from server.keys import ACTOR
from tests.server.conftest import ClientFactory
from tests.server.test_ws import connect
from tests.server.wsclient import recv_reply, until

ACK_FIELDS = [
    "type",
    "batch_id",
    "accepted",
    "throttled",
    "duplicate",
    "score",
    "round_score",
    "rank",
    "round_rank",
    "planet_total",
]


@pytest.fixture
async def client(make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setattr(app_module, "TURN_LINGER", 30.0)
    return await make_client()


async def in_the_mailbox(client: TestClient, player_id: str) -> None:
    """Wait until the server has read the player's push and handed it to the actor."""
    [conn] = client.server.app[BROADCASTER].by_player[player_id]
    await until(lambda: conn.pushing)


async def test_two_players_overtaking_each_other_in_one_turn_get_their_own_ranks(
    client: TestClient, app_clock: Any
) -> None:
    """B passes A and A passes B again within one turn: each ack carries the SPEC's fields
    with the ranks of the moment its push was applied."""
    actor: Actor = client.server.app[ACTOR]
    sock_a, a, _ = await connect(client)
    sock_b, b, _ = await connect(client)
    await actor.call(Push(player_id=a, batch_id="a-1", clicks=[10]))
    await actor.call(Push(player_id=b, batch_id="b-1", clicks=[5]))
    app_clock.jump(1.0)
    turns = actor.turns
    await sock_b.send_json({"type": "clicks", "batch_id": "b-2", "clicks": [10]})
    await in_the_mailbox(client, b)
    await sock_a.send_json({"type": "clicks", "batch_id": "a-2", "clicks": [10]})
    await in_the_mailbox(client, a)
    b_after = await actor.call(GetMe(player_id=b))  # a caller waits: the turn runs now
    assert actor.turns == turns + 1
    ack_b, ack_a = await recv_reply(sock_b), await recv_reply(sock_a)
    assert list(ack_b) == list(ack_a) == ACK_FIELDS
    assert ack_b == {
        **ack_b,
        "type": "ack",
        "batch_id": "b-2",
        "accepted": 10,
        "throttled": 0,
        "duplicate": False,
        "score": 15,
        "round_score": 15,
        "rank": 1,  # 15 passed A's 10
        "round_rank": 1,
    }
    assert ack_a == {
        **ack_a,
        "type": "ack",
        "batch_id": "a-2",
        "accepted": 10,
        "score": 20,
        "round_score": 20,
        "rank": 1,  # 20 passed B's 15 again
        "round_rank": 1,
    }
    assert (b_after["rank"], b_after["round_rank"]) == (2, 2)  # after the whole turn
    await sock_a.close()
    await sock_b.close()


async def test_a_message_after_a_push_is_answered_after_its_ack(client: TestClient) -> None:
    """A ping sent while the socket's push waits for its turn is answered after the ack."""
    sock, player_id, _ = await connect(client)
    await sock.send_json({"type": "clicks", "batch_id": "b-1", "clicks": [3]})
    await sock.send_json({"type": "ping"})
    await in_the_mailbox(client, player_id)
    await client.server.app[ACTOR].call(GetMe(player_id=player_id))
    assert [(await recv_reply(sock))["type"] for _ in range(2)] == ["ack", "pong"]
    await sock.close()
