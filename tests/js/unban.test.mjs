// The wait for an unban (server/static/unban.js) on a fake clock: a banned page holds
// GET /api/me?wait open and learns of the unban from its answer, never asking in a tight loop.
import assert from "node:assert/strict";
import { test } from "node:test";

import { FakeClock, settle } from "./fakes.mjs";
import { UnbanWait } from "../../server/static/unban.js";

// An API whose answers the test hands out one by one; ``asked`` records each request's time.
function fakeApi(clock) {
  const api = {
    asked: [],
    pending: [],
    call(method, path) {
      api.asked.push([clock.now(), method, path]);
      return new Promise((resolve, reject) => api.pending.push({ resolve, reject }));
    },
    answer(data) {
      api.pending.shift().resolve({ ok: true, status: 200, data });
    },
    fail() {
      api.pending.shift().reject(new TypeError("Failed to fetch"));
    },
    handleAuthError: () => false,
  };
  return api;
}

test("the held request's answer ends the ban; a quick banned answer is not asked again at once", async () => {
  const clock = new FakeClock();
  const api = fakeApi(clock);
  let banned = true;
  const seen = [];
  const wait = new UnbanWait({
    api,
    clock,
    banned: () => banned,
    player(p) {
      seen.push(p.status);
      banned = p.status === "banned";
    },
  });
  wait.start();
  wait.start(); // one wait at a time
  await settle();
  assert.deepEqual(api.asked, [[0, "GET", "/api/me?wait=25"]]);
  api.answer({ status: "banned" }); // at once: not held
  await settle();
  await clock.advance(1999);
  assert.equal(api.asked.length, 1);
  await clock.advance(1);
  assert.equal(api.asked.length, 2);
  await clock.advance(20000); // held ...
  api.answer({ status: "active" }); // ... until the unban
  await clock.advance(60000);
  assert.deepEqual([seen, api.asked.length, wait.running], [["banned", "active"], 2, false]);
});

test("no answer backs off 1, 2, 4 s before asking again", async () => {
  const clock = new FakeClock();
  const api = fakeApi(clock);
  const wait = new UnbanWait({ api, clock, banned: () => true, player() {} });
  wait.start();
  for (const gap of [1000, 2000, 4000]) {
    await settle();
    const before = api.asked.length;
    api.fail();
    await settle();
    await clock.advance(gap - 1);
    assert.equal(api.asked.length, before);
    await clock.advance(1);
    assert.equal(api.asked.length, before + 1);
  }
});
