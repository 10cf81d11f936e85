// The click queue (server/static/queue.js) over an in-memory localStorage (SPEC §4, §9).
import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import "./fakes.mjs";
import { ClickQueue, splitCounts } from "../../server/static/queue.js";

const stored = (queue) => JSON.parse(localStorage.getItem(queue.key));
const presses = (queue, n, round = 1) => {
  for (let i = 0; i < n; i += 1) queue.press(round);
};

beforeEach(() => localStorage.clear());

test("splitCounts splits a count above the largest one and fills lists up to the most", () => {
  assert.deepEqual(splitCounts([5, 12], 5, 3), [[5, 5, 5], [2]]);
  assert.deepEqual(splitCounts([1, 2, 3], 10), [[1, 2, 3]]);
  assert.equal(splitCounts(Array(40).fill(1), 10)[0].length, 32);
});

test("a batch holds one count per interval within the limits, saved before it leaves", () => {
  const queue = new ClickQueue(
    () => 4,
    () => 3,
  );
  for (const n of [2, 9, 1, 1, 1]) {
    presses(queue, n);
    queue.closeInterval();
  }
  const batch = queue.next();
  assert.deepEqual(batch.clicks, [2, 4, 4]);
  assert.deepEqual(stored(queue).batches, [batch]);
  assert.deepEqual(stored(queue).open, [1, 1, 1, 1]);
  assert.equal(queue.pending, 14);
});

test("a sealed batch never changes and is handed out until the server answers for it", () => {
  const queue = new ClickQueue(() => 200);
  presses(queue, 3);
  queue.closeInterval();
  const first = queue.next();
  presses(queue, 2);
  queue.closeInterval();
  assert.deepEqual(queue.next(), first);
  assert.deepEqual(first.clicks, [3]);
  assert.equal(queue.remove("no-such-batch"), false);
  assert.equal(queue.remove(first.id), true);
  const second = queue.next();
  assert.notEqual(second.id, first.id);
  assert.deepEqual(second.clicks, [2]);
});

test("clicks of another round are dropped, but never the batch on its way", () => {
  const queue = new ClickQueue(() => 200);
  presses(queue, 2, 1);
  queue.closeInterval();
  const inflight = queue.next();
  presses(queue, 3, 1);
  queue.closeInterval();
  presses(queue, 1, 1);
  assert.equal(queue.dropOtherRounds(2, inflight.id), 4);
  assert.deepEqual(queue.batches, [inflight]);
  assert.equal(queue.pending, 2);
  assert.equal(queue.dropAll(), 2);
  assert.equal(queue.pending, 0);
});

test("a closed tab's queue is adopted: sealed batches as they were, loose counts sealed", () => {
  const closing = new ClickQueue(() => 200);
  presses(closing, 2);
  closing.closeInterval();
  const sealed = closing.next();
  presses(closing, 3);
  closing.closeInterval();
  presses(closing, 1);
  closing.close();
  const before = localStorage.copy();

  const one = new ClickQueue(() => 200);
  assert.equal(one.adoptOrphans(), 2);
  assert.equal(localStorage.getItem(closing.key), null);
  assert.deepEqual(one.batches[0], sealed);
  assert.deepEqual(one.batches[1].clicks, [3, 1]);
  assert.equal(one.pending, 6);

  // Two pages adopting at once make the same batches, so the server counts them once.
  localStorage.restore(before);
  const two = new ClickQueue(() => 200);
  two.adoptOrphans();
  assert.deepEqual(two.batches, one.batches);
});

test("a live tab's queue is left alone; one silent for 150 s is adopted", () => {
  const other = new ClickQueue(() => 200);
  presses(other, 2);
  const mine = new ClickQueue(() => 200);
  assert.equal(mine.adoptOrphans(), 0);
  const state = stored(other);
  state.at = Date.now() - 150001;
  localStorage.setItem(other.key, JSON.stringify(state));
  assert.equal(mine.adoptOrphans(), 1);
  assert.equal(mine.pending, 2);
});

test("a tab whose queue was adopted starts afresh and writes nothing it gave away", () => {
  const queue = new ClickQueue(() => 200);
  presses(queue, 2);
  assert.equal(queue.wasAdopted(), false);
  localStorage.removeItem(queue.key); // another page took it
  assert.equal(queue.wasAdopted(), true);
  assert.equal(queue.pending, 0);
});
