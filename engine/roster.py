"""Who plays, under which name, for which planet, and in what standing (SPEC §3, §8).

Player creation takes the id from the caller so a journal replay rebuilds the same player.
The admin moves here change one player and keep every planet total equal to the sum of the
accepted clicks recorded for it: a move or a reset never rewrites what a planet already earned
in the active round, and a ban that revokes takes the player's recorded batches back out exactly.
"""

from __future__ import annotations

import heapq

from engine import planets as planets_mod
from engine.errors import Banned, Conflict, InvalidRequest, NotFound
from engine.players import (
    ACTIVE,
    BANNED,
    STATUSES,
    BanRecord,
    NameChange,
    Player,
    clean_name,
    default_name,
)
from engine.state import GameState, active_round


def create_player(state: GameState, player_id: str, name: str | None, now: float) -> Player:
    if player_id in state.players:
        raise Conflict("player id already exists")
    display = default_name(player_id) if name is None else clean_name(name)
    planet = planets_mod.pick_planet(state.planets)
    player = Player(
        id=player_id,
        name=display,
        planet=planet,
        created_at=now,
        tokens=state.rules.burst,
        tokens_at=now,
    )
    player.slot = state.slots.add(player_id)
    state.players[player_id] = player
    state.index.add(player)
    state.planets[planet].players += 1
    state.seq += 1
    state.all_board.set(player.slot, 0, state.seq)
    state.version += 1
    return player


def get_player(state: GameState, player_id: str) -> Player:
    player = state.players.get(player_id)
    if player is None:
        raise NotFound("no such player", {"player_id": player_id})
    return player


MAX_NAMES = 20  # renames kept a player: an operator sees the recent ones, memory stays bounded


def rename(state: GameState, player_id: str, name: str, now: float) -> Player:
    """A player renames themselves; a banned player may not (their name is on the boards)."""
    player = get_player(state, player_id)
    if player.status == BANNED:
        raise Banned("a banned player cannot rename")
    set_name(state, player, clean_name(name), now, "player")
    return player


def set_name(state: GameState, player: Player, name: str, now: float, by: str) -> None:
    """Give the player a checked name and add it to their name history (the last 20).

    A player's first rename also records the name they began with, at their creation, so the
    history always starts where the player did; a player never renamed has no entry at all.
    """
    if name == player.name:
        return
    names = state.names.get(player.id)
    if names is None:
        names = state.names[player.id] = [NameChange(player.created_at, player.name, "player")]
    names.append(NameChange(now, name, by))
    del names[:-MAX_NAMES]
    player.name = name
    state.index.renamed(player)
    state.version += 1


def name_history(state: GameState, player: Player) -> list[NameChange]:
    """The player's names, oldest first: the renames kept, or the one name they have had."""
    return state.names.get(player.id) or [NameChange(player.created_at, player.name, "player")]


def move_player(state: GameState, player_id: str, planet: str) -> Player:
    """Move to another planet from now on; clicks already given stay with the old planet."""
    player = get_player(state, player_id)
    if planet not in state.planets:
        raise InvalidRequest(f"unknown planet {planet!r}", {"field": "planet"})
    if planet != player.planet:
        state.planets[player.planet].players -= 1
        state.planets[planet].players += 1
        player.planet = planet
        state.index.sync(player)
        state.version += 1
    return player


def set_status(state: GameState, player_id: str, status: str) -> Player:
    """The one place a status changes: an active player keeps no ban record."""
    player = get_player(state, player_id)
    if status not in STATUSES:
        raise InvalidRequest(f"status must be one of {list(STATUSES)}", {"field": "status"})
    if status != player.status:
        player.status = status
        state.index.sync(player)
        state.version += 1
    if status == ACTIVE and state.bans.pop(player_id, None) is not None:
        state.version += 1
    return player


def ban(
    state: GameState,
    player_id: str,
    revoke_round_clicks: bool,
    *,
    now: float = 0.0,
    reason: str | None = None,
    duration: float | None = None,
    by: str | None = None,
) -> int:
    """Ban, for ``duration`` seconds or until lifted; optionally take the active round's clicks
    back out. Returns the clicks revoked. Banning a banned player replaces the reason and end."""
    set_status(state, player_id, BANNED)
    record_ban(state, player_id, now, reason, duration, by)
    return revoke_round(state, player_id) if revoke_round_clicks else 0


def record_ban(
    state: GameState,
    player_id: str,
    now: float,
    reason: str | None,
    duration: float | None = None,
    by: str | None = None,
) -> None:
    """Keep why and until when the player is banned (``engine/admin/bans.py`` lifts a timed one)."""
    until = None if duration is None else now + duration
    if player_id in state.bans and reason is None and until is None:
        return  # a tool's ban of a banned player: the record the ban has says more
    state.bans[player_id] = BanRecord(reason, now, until, by)
    if until is not None:
        heapq.heappush(state.ban_expiries, (until, player_id))
    state.version += 1


def unban(state: GameState, player_id: str) -> Player:
    return set_status(state, player_id, ACTIVE)


def revoke_round(state: GameState, player_id: str) -> int:
    """Remove the player's recorded batches of the active round from every planet total."""
    player = get_player(state, player_id)
    current = active_round(state)
    if current is None:
        return 0
    revoked = 0
    for planet, by_player in current.contributions.items():
        batches = by_player.pop(player_id, None)
        if batches:
            clicks = sum(batches)
            current.totals[planet] -= clicks
            state.planets[planet].all_time -= clicks
            revoked += clicks
    if revoked:
        # A reset earlier in this round already took these clicks out of the score.
        player.score = max(0, player.score - revoked)
        player.round_score = 0
        state.round_board.discard(player.slot)
        state.seq += 1
        state.all_board.set(player.slot, player.score, state.seq)
        state.index.sync(player)
        state.version += 1
    return revoked


def reset_score(state: GameState, player_id: str) -> Player:
    """Zero the player's own scores; planet totals keep what the planet earned."""
    player = get_player(state, player_id)
    player.score = 0
    player.round_score = 0
    state.round_board.discard(player.slot)
    state.seq += 1
    state.all_board.set(player.slot, 0, state.seq)
    state.index.sync(player)
    state.version += 1
    return player
