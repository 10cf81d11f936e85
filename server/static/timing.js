// Time for the game page: the clock the page's parts read and set timers with, and the one
// backoff every retry uses (SPEC §9: 1, 2, 4 … 30 s).
//
// The parts take a clock instead of calling the globals, so the node tests (tests/js) hand them a
// fake one and move time by hand instead of sleeping.

export const realClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (id) => clearInterval(id),
};

export const BACKOFF_SECONDS = [1, 2, 4, 8, 16, 30];

// Failures in a row, and the wait before the next try: 1 s after the first, then 2, 4 … 30 s.
export class Backoff {
  constructor() {
    this.failures = 0;
  }

  // One more failure: returns the wait before the next try, in ms.
  fail() {
    this.failures += 1;
    return BACKOFF_SECONDS[Math.min(this.failures, BACKOFF_SECONDS.length) - 1] * 1000;
  }

  reset() {
    this.failures = 0;
  }
}
