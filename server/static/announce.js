// Polite announcements for screen readers (WCAG 4.1.3): the score and ranks as they change, and
// the round's start and result. One live region; the figures are said at most once every
// ``gapMs`` (the latest wins, repeats are skipped), so clicking fast never floods a reader,
// while a round's result is said at once.
import { realClock } from "./timing.js";

export const GAP_MS = 10000;

export class Announcer {
  constructor(region, { clock = realClock, gapMs = GAP_MS } = {}) {
    Object.assign(this, { region, clock, gapMs });
    this.lastAt = -Infinity;
    this.lastFigures = "";
    this.waiting = null;
    this.timer = null;
  }

  // Say it now: a round started or ended.
  say(text) {
    this.region.textContent = text;
    this.lastAt = this.clock.now();
  }

  // The player's figures changed: said when the gap since the last announcement has passed.
  figures(text) {
    if (text === this.lastFigures) {
      this.waiting = null;
      return;
    }
    this.waiting = text;
    if (this.timer !== null) return;
    const wait = Math.max(0, this.lastAt + this.gapMs - this.clock.now());
    this.timer = this.clock.setTimeout(() => this.flush(), wait);
  }

  flush() {
    this.timer = null;
    if (this.waiting === null) return;
    this.lastFigures = this.waiting;
    this.waiting = null;
    this.say(this.lastFigures);
  }
}
