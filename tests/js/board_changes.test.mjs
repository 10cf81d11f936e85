// The page's change applier (server/static/state.js) against games played by the real engine:
// tests/server/board_games.py prints each game's first snapshot, every board message a tick
// sent and the whole board the server holds after it (SPEC §6 boards as changes).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { test } from "node:test";

import { GameState, applyChanges } from "../../server/static/state.js";

function python() {
  if (process.env.CTB_PYTHON) return process.env.CTB_PYTHON;
  return existsSync(".venv/bin/python") ? ".venv/bin/python" : "python3";
}

const GAMES = JSON.parse(
  execFileSync(python(), ["-m", "tests.server.board_games", "7"], { maxBuffer: 64 << 20 }),
);

// What the page holds, in the shape of the server's whole board (no settings, no me).
function held(state) {
  const { round, planets, leaderboard, online, players_total, paused, pause_reason, paused_at } =
    state.board;
  const plain = { online, players_total, paused, pause_reason, paused_at };
  return { round, planets, leaderboard, ...plain, version: state.version };
}

function expected(board) {
  const { settings, ...rest } = board;
  return rest;
}

test("the games hold boards where rows enter, leave, change names and move as the round's", () => {
  const messages = GAMES.flatMap((g) => g.boards.map((b) => b.message.data));
  assert.ok(messages.some((d) => d.players && d.leaderboard));
  assert.ok(messages.some((d) => d.leaderboard && d.leaderboard.round && d.leaderboard.round.top));
  assert.ok(messages.some((d) => d.round));
  assert.ok(messages.some((d) => d.leaderboard && d.leaderboard.all === "round"));
  assert.ok(messages.some((d) => d.leaderboard && d.leaderboard.all && d.leaderboard.all.top));
});

test("applied to the first snapshot, every board's changes give exactly the server's board", () => {
  for (const game of GAMES) {
    const state = new GameState();
    state.applySnapshot(game.snapshot);
    assert.deepEqual(held(state), expected(game.snapshot));
    for (const { message, board } of game.boards) {
      assert.notEqual(state.applyBoardMessage(message), null);
      assert.deepEqual(held(state), expected(board));
    }
  }
});

test("a page that misses a board refuses the next one, and the resync's snapshot restores it", () => {
  for (const game of GAMES) {
    if (game.boards.length < 3) continue;
    const missed = Math.floor(game.boards.length / 2);
    const state = new GameState();
    state.applySnapshot(game.snapshot);
    let resynced = false;
    game.boards.forEach(({ message, board }, i) => {
      if (i === missed) return; // never arrived
      if (state.applyBoardMessage(message) === null) {
        assert.equal(i, missed + 1);
        state.applySnapshot(board); // what resync answers: the whole board the server holds
        resynced = true;
      }
      assert.deepEqual(held(state), expected(board));
    });
    assert.ok(resynced);
  }
});

test("applyChanges leaves the board it builds on as it was", () => {
  const game = GAMES.find((g) => g.boards.length > 0);
  const before = JSON.stringify(game.snapshot);
  applyChanges(game.snapshot, game.boards[0].message.data);
  assert.equal(JSON.stringify(game.snapshot), before);
});
