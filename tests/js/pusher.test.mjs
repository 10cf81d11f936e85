// The push scheduler (server/static/pusher.js) on a fake clock: when batches leave, over which
// way, and what each answer does (SPEC §4, §9).
import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { FakeClock, settle } from "./fakes.mjs";
import { PushScheduler } from "../../server/static/pusher.js";
import { ClickQueue } from "../../server/static/queue.js";

const OK = (body) => ({
  ok: true,
  status: 200,
  data: { accepted: body.clicks.reduce((a, b) => a + b, 0), throttled: 0, duplicate: false },
});
const REFUSED = (status, code, details) => ({
  ok: false,
  status,
  data: null,
  error: { code, message: code, details },
  retryAfter: NaN,
});
const NO_ANSWER = () => Promise.reject(new TypeError("Failed to fetch"));

// A scheduler over a real queue, a fake clock, a socket that records what it is given and an
// HTTP way answered by ``answer(body)`` (a reply, or a promise of one).
function setup({ live = true, rate = 1, answer = OK, round = () => 1, canPush = () => true } = {}) {
  const clock = new FakeClock();
  const queue = new ClickQueue(() => 200);
  const sent = [];
  const events = [];
  const record = (name) => (arg) => events.push([name, arg]);
  const socket = {
    isLive: live,
    live() {
      return this.isLive;
    },
    send(message) {
      const stored = localStorage.getItem(queue.key);
      sent.push({ via: "ws", at: clock.now(), ...message, stored });
    },
  };
  const settings = { click_push_rate: rate };
  const pusher = new PushScheduler({
    queue,
    clock,
    settings: () => settings,
    canPush,
    round,
    socket,
    http: async (body) => {
      sent.push({ via: "http", at: clock.now(), ...body });
      return answer(body);
    },
    on: {
      ack: record("ack"),
      lost: record("lost"),
      roundOver: record("roundOver"),
      stale: record("stale"),
      adopted: record("adopted"),
      refused: (error) => events.push(["refused", error.code]),
      banned: record("banned"),
      unauthorized: () => Promise.resolve(),
    },
  });
  return { clock, queue, pusher, sent, events, socket, settings };
}

const presses = (queue, n, round = 1) => {
  for (let i = 0; i < n; i += 1) queue.press(round);
};
const ack = (pusher, id, extra = {}) =>
  pusher.result(id, { batch_id: id, accepted: 1, throttled: 0, duplicate: false, ...extra });

beforeEach(() => localStorage.clear());

test("every CLICK_PUSH_RATE the running count leaves as one batch, saved first", async () => {
  const { clock, queue, pusher, sent } = setup();
  pusher.start();
  presses(queue, 3);
  await clock.advance(999);
  assert.equal(sent.length, 0);
  await clock.advance(1);
  assert.equal(sent.length, 1);
  const [push] = sent;
  assert.deepEqual([push.via, push.type, push.clicks, push.at], ["ws", "clicks", [3], 1000]);
  assert.ok(push.stored.includes(push.batch_id), "the batch is in localStorage before it is sent");
});

test("one batch is in flight at a time; after its ack the next waits a full interval", async () => {
  const { clock, queue, pusher, sent } = setup();
  pusher.start();
  presses(queue, 1);
  await clock.advance(1000); // sent at 1000
  presses(queue, 2);
  await clock.advance(1000); // 2000: the count of 2 closes, but the first batch has no answer
  presses(queue, 4);
  await clock.advance(200);
  assert.equal(sent.length, 1);
  ack(pusher, sent[0].batch_id);
  await clock.advance(0);
  assert.equal(sent.length, 1, "not sooner than half an interval after the ack");
  await clock.advance(520);
  assert.equal(sent.length, 2);
  assert.deepEqual([sent[1].at, sent[1].clicks], [2720, [2]]);
  ack(pusher, sent[1].batch_id);
  await clock.advance(1000); // 3000 closed the count of 4; it leaves an interval after 2720
  assert.deepEqual(
    sent.map((p) => p.at),
    [1000, 2720, 3720],
  );
  assert.deepEqual(sent[2].clicks, [4]);
  assert.equal(queue.pending, 4);
});

test("the reply's next_push_after holds the next push back", async () => {
  const { clock, queue, pusher, sent } = setup();
  pusher.start();
  presses(queue, 1);
  await clock.advance(1000);
  presses(queue, 1);
  ack(pusher, sent[0].batch_id, { next_push_after: 3 });
  await clock.advance(2999);
  assert.equal(sent.length, 1);
  await clock.advance(1);
  assert.deepEqual([sent.length, sent[1].at], [2, 4000]);
});

test("a push over the socket with no ack is resent unchanged over HTTP after 1 s", async () => {
  const { clock, queue, pusher, sent, events } = setup();
  pusher.start();
  presses(queue, 5);
  await clock.advance(1000);
  await clock.advance(5000); // no ack: lost at 6000
  assert.deepEqual(events, [["lost", "ws"]]);
  assert.equal(sent.length, 1);
  await clock.advance(1000);
  assert.equal(sent.length, 2);
  assert.deepEqual(
    sent.map((p) => [p.via, p.batch_id, p.clicks]),
    [
      ["ws", sent[0].batch_id, [5]],
      ["http", sent[0].batch_id, [5]],
    ],
  );
  assert.equal(sent[1].at, 7000);
  assert.equal(queue.pending, 0, "the HTTP reply settled it");
  assert.deepEqual(events[1][0], "ack");
});

test("a socket that closes loses the push on it: the retry goes over HTTP", async () => {
  const { clock, queue, pusher, sent, socket } = setup();
  pusher.start();
  presses(queue, 2);
  await clock.advance(1000);
  socket.isLive = false;
  pusher.socketClosed();
  await clock.advance(1000);
  assert.deepEqual(
    sent.map((p) => [p.via, p.at]),
    [
      ["ws", 1000],
      ["http", 2000],
    ],
  );
  assert.equal(sent[1].batch_id, sent[0].batch_id);
});

test("failed pushes back off 1, 2, 4 … 30 s; after a success it starts at 1 s", async () => {
  let answer = NO_ANSWER;
  const { clock, queue, pusher, sent, events } = setup({ live: false, answer: (b) => answer(b) });
  pusher.start();
  presses(queue, 1);
  await clock.advance(1000 + 91000);
  const at = sent.map((p) => p.at);
  assert.deepEqual(at, [1000, 2000, 4000, 8000, 16000, 32000, 62000, 92000]);
  assert.equal(new Set(sent.map((p) => p.batch_id)).size, 1, "always the same batch");
  assert.ok(events.every(([name, via]) => name === "lost" && via === "http"));

  answer = OK;
  await clock.advance(30000); // 122000: delivered
  assert.equal(queue.pending, 0);
  answer = NO_ANSWER;
  presses(queue, 1);
  await clock.advance(1000); // 123000: closes the count; the push is lost
  await clock.advance(1000);
  assert.deepEqual(
    sent.slice(-3).map((p) => p.at),
    [122000, 123000, 124000],
  );
});

test("the backoff is not waited out once the way is open again", async () => {
  const { clock, queue, pusher, sent } = setup({ live: false, answer: NO_ANSWER });
  pusher.start();
  presses(queue, 1);
  await clock.advance(1000 + 3000); // sent at 1000, 2000, 4000: the next try is at 8000
  assert.equal(sent.length, 3);
  pusher.resetBackoff(); // e.g. the refresh button read the server
  pusher.pump();
  await clock.advance(1000); // an interval after the last try, not 8000
  assert.deepEqual([sent.length, sent[3].at], [4, 5000]);
});

test("rate_limited is waited out for its retry_after, then the same batch goes", async () => {
  let answer = () => REFUSED(429, "rate_limited", { retry_after: 2.5 });
  const { clock, queue, pusher, sent } = setup({ live: false, answer: (b) => answer(b) });
  pusher.start();
  presses(queue, 3);
  await clock.advance(1000);
  answer = OK;
  await clock.advance(2499);
  assert.equal(sent.length, 1);
  await clock.advance(1);
  assert.deepEqual([sent.length, sent[1].at, sent[1].batch_id], [2, 3500, sent[0].batch_id]);
  assert.equal(queue.pending, 0);
});

test("rate_limited without details waits for the Retry-After header", async () => {
  let answer = () => ({ ...REFUSED(429, "rate_limited"), retryAfter: 3 });
  const { clock, queue, pusher, sent } = setup({ live: false, answer: (b) => answer(b) });
  pusher.start();
  presses(queue, 1);
  await clock.advance(1000);
  answer = OK;
  await clock.advance(2999);
  assert.equal(sent.length, 1);
  await clock.advance(1);
  assert.equal(sent.length, 2);
});

test("rate_limited over the socket is waited out too", async () => {
  const { clock, queue, pusher, sent } = setup();
  pusher.start();
  presses(queue, 1);
  await clock.advance(1000);
  const id = sent[0].batch_id;
  pusher.refused(id, { code: "rate_limited", message: "", details: { retry_after: 0.5 } });
  await clock.advance(499);
  assert.equal(sent.length, 1);
  await clock.advance(1);
  assert.deepEqual([sent.length, sent[1].via, sent[1].batch_id], [2, "ws", id]);
});

test("round_not_active drops every waiting click and says how many", async () => {
  const { clock, queue, pusher, sent, events } = setup();
  pusher.start();
  presses(queue, 2);
  await clock.advance(1000);
  presses(queue, 3);
  pusher.refused(sent[0].batch_id, { code: "round_not_active", message: "" });
  assert.deepEqual(events, [["roundOver", 5]]);
  assert.equal(queue.pending, 0);
  await clock.advance(5000);
  assert.equal(sent.length, 1);
});

test("a batch refused for good is dropped and the next one goes", async () => {
  const { clock, queue, pusher, sent, events } = setup();
  pusher.start();
  presses(queue, 2);
  await clock.advance(1000);
  presses(queue, 1);
  await clock.advance(1000);
  pusher.refused(sent[0].batch_id, { code: "invalid_request", message: "" });
  await clock.advance(0);
  assert.deepEqual(events, [["refused", "invalid_request"]]);
  assert.deepEqual(
    sent.map((p) => p.clicks),
    [[2], [1]],
  );
  assert.notEqual(sent[1].batch_id, sent[0].batch_id);
});

test("unavailable keeps the batch and tries again after the backoff", async () => {
  const { clock, queue, pusher, sent } = setup();
  pusher.start();
  presses(queue, 2);
  await clock.advance(1000);
  pusher.refused(sent[0].batch_id, { code: "unavailable", message: "" });
  await clock.advance(999);
  assert.equal(sent.length, 1);
  await clock.advance(1);
  assert.deepEqual([sent.length, sent[1].batch_id], [2, sent[0].batch_id]);
});

test("a second answer for a settled batch changes nothing", async () => {
  const { clock, queue, pusher, sent, events } = setup();
  pusher.start();
  presses(queue, 2);
  await clock.advance(1000);
  ack(pusher, sent[0].batch_id);
  ack(pusher, sent[0].batch_id, { duplicate: true });
  assert.deepEqual(
    events.map(([name]) => name),
    ["ack"],
  );
});

test("clicks of a round that is over are dropped before they are sent", async () => {
  let current = 1;
  const { clock, queue, pusher, sent, events } = setup({ round: () => current });
  pusher.start();
  presses(queue, 4, 1);
  current = 2;
  await clock.advance(1000);
  assert.deepEqual(events, [["stale", 4]]);
  assert.equal(sent.length, 0);
});

test("the ticker follows a new CLICK_PUSH_RATE, and stop ends every push", async () => {
  const { clock, queue, pusher, sent, settings } = setup();
  pusher.start();
  settings.click_push_rate = 0.2;
  pusher.start();
  presses(queue, 1);
  await clock.advance(200);
  assert.deepEqual(
    sent.map((p) => p.at),
    [200],
  );
  ack(pusher, sent[0].batch_id);
  presses(queue, 1);
  pusher.stop();
  await clock.advance(10000);
  assert.equal(sent.length, 1);
  assert.equal(pusher.mayPushNow(), false);
  await settle();
});

test("paused keeps the batch and sends nothing until the resume, then the same batch goes", async () => {
  let paused = false;
  const { clock, queue, pusher, sent, events } = setup({ canPush: () => !paused });
  pusher.start();
  presses(queue, 2);
  await clock.advance(1000);
  paused = true; // the server refused the push, and the board says the game is paused
  pusher.refused(sent[0].batch_id, { code: "paused", message: "" });
  presses(queue, 1);
  await clock.advance(30000);
  assert.deepEqual([sent.length, events, queue.pending], [1, [], 3]);
  paused = false; // the resume: the page pumps at once
  pusher.resetBackoff();
  pusher.pump();
  await clock.advance(0);
  assert.deepEqual([sent[1].batch_id, sent[1].clicks], [sent[0].batch_id, [2]]);
});

test("after stop, restart sends what waited and pushes on", async () => {
  const { clock, queue, pusher, sent } = setup();
  pusher.start();
  presses(queue, 2);
  pusher.stop();
  await clock.advance(5000);
  assert.equal(sent.length, 0);
  pusher.restart();
  await clock.advance(1000);
  assert.deepEqual(
    sent.map((p) => p.clicks),
    [[2]],
  );
  ack(pusher, sent[0].batch_id);
  presses(queue, 1);
  await clock.advance(1000);
  assert.equal(sent.length, 2);
});
