// What the page knows of the game (server/static/state.js): push limits, boards and answers.
import assert from "node:assert/strict";
import { test } from "node:test";

import { DEFAULT_SETTINGS, GameState, pushLimits } from "../../server/static/state.js";

test("the push limits are the snapshot's when it gives them", () => {
  const settings = { ...DEFAULT_SETTINGS, max_count: 77, max_counts_per_push: 8 };
  assert.deepEqual(pushLimits(settings), { maxCount: 77, maxCounts: 8 });
});

test("without them, MAX_CPS × CLICK_PUSH_RATE × 10 and 32", () => {
  assert.deepEqual(pushLimits(DEFAULT_SETTINGS), { maxCount: 200, maxCounts: 32 });
  const fast = { ...DEFAULT_SETTINGS, click_push_rate: 0.2, max_cps: 2 };
  assert.deepEqual(pushLimits(fast), { maxCount: 4, maxCounts: 32 });
  const tiny = { ...DEFAULT_SETTINGS, click_push_rate: 0.01, max_cps: 1 };
  assert.equal(pushLimits(tiny).maxCount, 1);
});

test("the snapshot's settings replace the defaults and feed the limits", () => {
  const state = new GameState();
  assert.equal(state.settingsKnown, false);
  state.applySnapshot({ settings: { click_push_rate: 0.5, max_cps: 4, max_count: 9 } });
  assert.equal(state.settingsKnown, true);
  assert.equal(state.settings.burst_seconds, DEFAULT_SETTINGS.burst_seconds);
  assert.deepEqual(state.limits, { maxCount: 9, maxCounts: 32 });
});

test("a board of another round starts the round score again; parts not sent are kept", () => {
  const state = new GameState();
  const board = {
    round: { id: 1, status: "active" },
    planets: [{ name: "mars", total: 5 }],
    leaderboard: { round: [{ id: "p" }], all: [] },
    online: 3,
  };
  assert.equal(state.applyBoard(board), false);
  state.applyMe({ id: "p", planet: "mars", round_score: 5, round_rank: 1, score: 9 });
  assert.equal(state.applyBoard({ planets: [{ name: "mars", total: 6 }] }), false);
  assert.equal(state.board.online, 3);
  assert.deepEqual(state.board.leaderboard, board.leaderboard);
  assert.equal(state.applyBoard({ round: { id: 2, status: "active" } }), true);
  assert.deepEqual([state.me.round_score, state.me.round_rank, state.me.score], [0, null, 9]);
  assert.equal(state.currentRoundId, 2);
});

test("an ack gives the player's numbers and moves the planet's total only forward", () => {
  const state = new GameState();
  state.applyBoard({ round: { id: 1 }, planets: [{ name: "mars", total: 10 }] });
  state.applyMe({ id: "p", planet: "mars", score: 0, round_score: 0 });
  const ack = { score: 4, round_score: 4, rank: 2, round_rank: 1 };
  state.applyAck({ ...ack, planet_total: 12 });
  assert.deepEqual([state.me.score, state.me.rank, state.board.planets[0].total], [4, 2, 12]);
  state.applyAck({ ...ack, planet_total: 11 }); // an older answer
  assert.equal(state.board.planets[0].total, 12);
});

test("the button is live only in an active round the player's planet is in, before its end", () => {
  const state = new GameState();
  state.applyMe({ id: "p", planet: "mars" });
  state.applyBoard({ round: { id: 1, status: "active", ends_at: 100, planets: ["mars"] } });
  assert.equal(state.roundActive(99), true);
  assert.equal(state.roundActive(100), false);
  state.applyBoard({ round: { id: 1, status: "active", ends_at: 100, planets: ["venus"] } });
  assert.equal(state.roundActive(99), false);
  assert.equal(state.applyMe({ id: "p", planet: "mars", status: "banned" }), true);
});

test("while paused the button waits and the clock stands where the server's stopped", () => {
  const state = new GameState();
  state.applyMe({ id: "p", planet: "mars" });
  const round = { id: 1, status: "active", ends_at: 100, planets: ["mars"] };
  state.applyBoard({ round, paused: true, pause_reason: "fire drill", paused_at: 40 });
  assert.deepEqual([state.paused, state.roundActive(50), state.clockAt(50)], [true, false, 40]);
  // The resume moves the round's end on by the pause: the countdown goes on from 60 s.
  state.applyBoard({ round: { ...round, ends_at: 110 }, paused: false, paused_at: null });
  assert.deepEqual([state.paused, state.roundActive(50), state.clockAt(50)], [false, true, 50]);
});
