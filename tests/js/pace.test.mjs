// Each planet's clicks per second from successive boards (server/static/pace.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { Pace } from "../../server/static/pace.js";

test("the rate is the gain over the window; a quiet planet falls back to 0", () => {
  const pace = new Pace(2000);
  assert.deepEqual(pace.update([{ name: "mars", total: 0 }], 0), []);
  assert.deepEqual(pace.update([{ name: "mars", total: 10 }], 1000), ["mars"]);
  assert.deepEqual(pace.update([{ name: "mars", total: 20 }], 2000), ["mars"]);
  assert.equal(pace.rate("mars", 2000), 10);
  for (let t = 2250; t <= 5000; t += 250) pace.update([{ name: "mars", total: 20 }], t);
  assert.equal(pace.rate("mars", 5000), 0);
});

test("a total that falls (a new round) starts the planet again; gone planets are forgotten", () => {
  const pace = new Pace(2000);
  pace.update([{ name: "mars", total: 50 }, { name: "earth", total: 5 }], 0);
  assert.deepEqual(pace.update([{ name: "mars", total: 2 }], 500), []);
  assert.equal(pace.rate("mars", 500), 0);
  assert.equal(pace.rate("earth", 500), 0);
});
