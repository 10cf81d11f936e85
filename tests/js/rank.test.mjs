// The player's ranks as the page shows them (server/static/rank.js), and when it asks again.
import assert from "node:assert/strict";
import { test } from "node:test";

import { RankFollower, isMe, offTheBoard, shownRank } from "../../server/static/rank.js";
import { FakeClock } from "./fakes.mjs";

const row = (rank, key) => ({ rank, key, name: key, planet: "mars", score: 100 - rank });
const board = (round, all = round) => ({ leaderboard: { round, all } });

test("on the board, the rank is the board's row, whatever the last ack said", () => {
  const me = { key: "me", round_rank: 1, rank: 1 };
  const b = board([row(1, "other"), row(2, "me")]);
  assert.equal(shownRank(b, me, "round"), 2);
  assert.equal(shownRank(b, me, "all"), 2);
});

test("off the board, the server's rank, never better than the row after the list", () => {
  const top = Array.from({ length: 10 }, (_, i) => row(i + 1, `p${i}`));
  assert.equal(shownRank(board(top), { key: "me", round_rank: 4, rank: 14 }, "round"), 11);
  assert.equal(shownRank(board(top), { key: "me", round_rank: 4, rank: 14 }, "all"), 14);
  assert.equal(shownRank(board([]), { key: "me", round_rank: null, rank: 3 }, "round"), null);
  assert.equal(shownRank(board([]), null, "round"), null);
});

test("the page asks only while the player is off a board it is ranked on", () => {
  const top = [row(1, "a")];
  assert.equal(offTheBoard(board(top), { key: "me", round_rank: 2, rank: null }), true);
  assert.equal(offTheBoard(board([row(1, "me")]), { key: "me", round_rank: 1, rank: 1 }), false);
  assert.equal(offTheBoard(board(top), { key: "me", round_rank: null, rank: null }), false);
});

test("boards that move ask at most once every 2 s, and not at all on the board", async () => {
  const clock = new FakeClock();
  let asked = 0;
  const follower = new RankFollower({ ask: async () => (asked += 1), clock });
  const off = { key: "me", round_rank: 12, rank: 12 };
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
  follower.moved(board([row(1, "me")]), { key: "me", round_rank: 1, rank: 1 });
  await clock.advance(5000);
  assert.equal(asked, 2);
});

test("a player object without a board key is found by id in rows that carry ids", () => {
  const me = { id: "p-2", round_rank: 2, rank: 2 };
  const rows = [
    { rank: 1, id: "p-1", key: 1, name: "a", planet: "mars", score: 9 },
    { rank: 2, id: "p-2", key: 2, name: "b", planet: "mars", score: 8 },
  ];
  assert.equal(isMe(rows[1], me), true);
  assert.equal(isMe(rows[0], me), false);
  assert.equal(isMe(rows[1], { ...me, key: 1 }), false);
});
