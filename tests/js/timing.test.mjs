// The one backoff of the page (server/static/timing.js): 1, 2, 4 … 30 s (SPEC §9).
import assert from "node:assert/strict";
import { test } from "node:test";

import { Backoff } from "../../server/static/timing.js";

test("each failure doubles the wait up to 30 s; a reset starts again at 1 s", () => {
  const backoff = new Backoff();
  const waits = Array.from({ length: 8 }, () => backoff.fail());
  assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  backoff.reset();
  assert.equal(backoff.fail(), 1000);
});
