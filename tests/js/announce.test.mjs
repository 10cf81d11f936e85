// Polite announcements that never flood (server/static/announce.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { Announcer } from "../../server/static/announce.js";
import { FakeClock } from "./fakes.mjs";

test("figures are said at most once a gap, the latest wins, repeats are skipped", async () => {
  const clock = new FakeClock();
  const region = { textContent: "" };
  const said = new Announcer(region, { clock, gapMs: 10000 });
  said.figures("score 1");
  await clock.advance(0);
  assert.equal(region.textContent, "score 1");
  for (let n = 2; n <= 40; n += 1) {
    said.figures(`score ${n}`);
    await clock.advance(100);
  }
  assert.equal(region.textContent, "score 1");
  await clock.advance(10000);
  assert.equal(region.textContent, "score 40");
  region.textContent = "";
  said.figures("score 40");
  await clock.advance(20000);
  assert.equal(region.textContent, "");
});

test("a round's result is said at once", () => {
  const region = { textContent: "" };
  new Announcer(region, { clock: new FakeClock() }).say("Mars wins round 2.");
  assert.equal(region.textContent, "Mars wins round 2.");
});
