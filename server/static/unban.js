// Waiting for an unban. A banned player's socket is closed with 4003 and no new one is given
// (SPEC §6), so nothing would tell the page that an admin lifted the ban. Instead the page holds
// GET /api/me?wait open: the server answers it the moment an admin changes the player (and
// after WAIT_S seconds at most, when the page asks again). A failure waits 1, 2, 4 … 30 s.
import { Backoff, realClock } from "./timing.js";

const WAIT_S = 25; // well under the minute a proxy lets a quiet request live
const SLACK_MS = 10000; // the answer may come this long after WAIT_S before the request is given up
const MIN_GAP_MS = 2000; // at least this long between two asks

// api: the ApiClient; banned(): is the page still banned?; player(p): the server's answer.
export class UnbanWait {
  constructor({ api, banned, player, clock = realClock }) {
    Object.assign(this, { api, banned, player, clock });
    this.running = false;
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.loop().finally(() => {
      this.running = false;
    });
  }

  async loop() {
    const backoff = new Backoff();
    while (this.banned()) {
      const asked = this.clock.now();
      let res = null;
      try {
        const options = { timeout: WAIT_S * 1000 + SLACK_MS };
        res = await this.api.call("GET", `/api/me?wait=${WAIT_S}`, undefined, options);
      } catch {
        res = null; // no answer: the server cannot be reached
      }
      let wait;
      if (res && res.ok && res.data) {
        backoff.reset();
        this.player(res.data.player || res.data);
        // Still banned after a quick answer (another change, or a server that does not hold
        // the request): not again at once.
        wait = Math.max(0, MIN_GAP_MS - (this.clock.now() - asked));
      } else {
        if (res) this.api.handleAuthError(res);
        wait = backoff.fail();
      }
      if (wait > 0 && this.banned()) {
        await new Promise((resolve) => this.clock.setTimeout(resolve, wait));
      }
    }
  }
}
