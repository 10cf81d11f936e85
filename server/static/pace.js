// Signs of other players (SPEC §9: "every connected page sees the race move live"): each planet's
// clicks per second, derived from the totals of successive boards, and which planets just gained.
// No DOM: the page feeds it the board's planets with the time, on every board and every tick
// (boards only come when something changed, so a quiet planet's rate falls back to 0 by itself).

export const WINDOW_MS = 2000;

export class Pace {
  constructor(windowMs = WINDOW_MS) {
    this.windowMs = windowMs;
    this.samples = new Map(); // planet → [[t, total], …], oldest first
  }

  // The planets' totals at ``now`` (ms). Returns the names of the planets that gained since the
  // last call.
  update(planets, now) {
    const gained = [];
    const seen = new Set();
    for (const { name, total } of planets || []) {
      seen.add(name);
      let list = this.samples.get(name);
      const last = list && list[list.length - 1];
      if (!list || total < last[1]) {
        list = []; // first sight, or a new round began
        this.samples.set(name, list);
      } else if (total > last[1]) {
        gained.push(name);
      }
      list.push([now, total]);
      // Keep one sample older than the window, so the rate spans the whole window.
      while (list.length > 2 && list[1][0] <= now - this.windowMs) list.shift();
    }
    for (const name of this.samples.keys()) if (!seen.has(name)) this.samples.delete(name);
    return gained;
  }

  // Clicks per second over the last window, rounded to a whole number.
  rate(name, now) {
    const list = this.samples.get(name);
    if (!list || list.length < 2) return 0;
    const [t0, v0] = list[0];
    const [, v1] = list[list.length - 1];
    // Over half a window at least, so a first gain is not read as a burst.
    const span = Math.max(now - t0, this.windowMs / 2);
    return Math.round(((v1 - v0) * 1000) / span);
  }
}
