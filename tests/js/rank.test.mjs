// The player's ranks as the page shows them (server/static/rank.js), and when it asks again.
import assert from "node:assert/strict";
import { test } from "node:test";

import { RankFollower, offTheBoard, shownRank } from "../../server/static/rank.js";
import { FakeClock } from "./fakes.mjs";

const row = (rank, id) => ({ rank, id, name: id, planet: "mars", score: 100 - rank });
const board = (round, all = round) => ({ leaderboard: { round, all } });

test("on the board, the rank is the board's row, whatever the last ack said", () => {
  const me = { id: "me", round_rank: 1, rank: 1 };
  const b = board([row(1, "other"), row(2, "me")]);
  assert.equal(shownRank(b, me, "round"), 2);
  assert.equal(shownRank(b, me, "all"), 2);
});

test("off the board, the server's rank, never better than the row after the list", () => {
  const top = Array.from({ length: 10 }, (_, i) => row(i + 1, `p${i}`));
  assert.equal(shownRank(board(top), { id: "me", round_rank: 4, rank: 14 }, "round"), 11);
  assert.equal(shownRank(board(top), { id: "me", round_rank: 4, rank: 14 }, "all"), 14);
  assert.equal(shownRank(board([]), { id: "me", round_rank: null, rank: 3 }, "round"), null);
  assert.equal(shownRank(board([]), null, "round"), null);
});

test("the page asks only while the player is off a board it is ranked on", () => {
  const top = [row(1, "a")];
  assert.equal(offTheBoard(board(top), { id: "me", round_rank: 2, rank: null }), true);
  assert.equal(offTheBoard(board([row(1, "me")]), { id: "me", round_rank: 1, rank: 1 }), false);
  assert.equal(offTheBoard(board(top), { id: "me", round_rank: null, rank: null }), false);
});

test("boards that move ask at most once every 2 s, and not at all on the board", async () => {
  const clock = new FakeClock();
  let asked = 0;
  const follower = new RankFollower({ ask: async () => (asked += 1), clock });
  const off = { id: "me", round_rank: 12, rank: 12 };
  follower.moved(board([row(1, "a")]), off);
  await clock.advance(0);
  assert.equal(asked, 1);
  for (let i = 0; i < 8; i += 1) {
    follower.moved(board([row(1, "a")]), off);
    await clock.advance(250);
  }
  assert.equal(asked, 2); // at 0 and at 2000 ms
  await clock.advance(5000);
  assert.equal(asked, 2); // no board moved since
  follower.moved(board([row(1, "me")]), { id: "me", round_rank: 1, rank: 1 });
  await clock.advance(5000);
  assert.equal(asked, 2);
});
