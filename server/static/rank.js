// Where the player stands, as the page shows it (SPEC §9). The ranks on the "You" card must never
// contradict the leaderboard beside them, nor go stale while the page is connected:
//   - in a scope where the player is on the board's top list, the rank is that row's;
//   - off the list, it is the server's last word (an ack or /api/me), but never better than the
//     row after the list's end;
//   - while the board moves and the player is off a list they are ranked in, the page asks
//     /api/me again, at most once every ASK_EVERY_MS.
// No DOM and no I/O: the page hands in the board, the player and a way to ask.
import { realClock } from "./timing.js";

export const ASK_EVERY_MS = 2000;

export const SCOPES = { round: "round_rank", all: "rank" };

function rows(board, scope) {
  return (board && board.leaderboard && board.leaderboard[scope]) || [];
}

// Is this leaderboard row the player's? The live board names rows by board key; a player object
// from a server that sends no key is matched by id.
export function isMe(entry, me) {
  return me.key !== undefined ? entry.key === me.key : entry.id === me.id;
}

// The rank to show for ``scope`` ("round" or "all"), or null when there is none.
export function shownRank(board, me, scope) {
  if (!me) return null;
  const list = rows(board, scope);
  const row = list.find((entry) => isMe(entry, me));
  if (row) return row.rank;
  const known = me[SCOPES[scope]];
  if (!Number.isInteger(known) || known < 1) return null;
  const last = list.length ? list[list.length - 1].rank : 0;
  return Math.max(known, last + 1);
}

// Is the player ranked in some scope without a row on the board? Then only the server knows.
export function offTheBoard(board, me) {
  if (!me) return false;
  return Object.entries(SCOPES).some(
    ([scope, field]) => me[field] && !rows(board, scope).some((entry) => isMe(entry, me)),
  );
}

// Asks (ask() → a promise) when the board moved while the player is off it; never more often
// than every ``everyMs``, and never two asks at once.
export class RankFollower {
  constructor({ ask, clock = realClock, everyMs = ASK_EVERY_MS }) {
    Object.assign(this, { ask, clock, everyMs });
    this.lastAt = -Infinity;
    this.timer = null;
    this.asking = false;
    this.due = false;
  }

  // A new board arrived.
  moved(board, me) {
    if (!offTheBoard(board, me)) return;
    this.due = true;
    this.schedule();
  }

  // The server's numbers just came another way (an ack, /api/me): no need to ask for a while.
  told() {
    this.lastAt = this.clock.now();
  }

  schedule() {
    if (this.timer !== null || this.asking) return;
    const wait = Math.max(0, this.lastAt + this.everyMs - this.clock.now());
    this.timer = this.clock.setTimeout(() => this.run(), wait);
  }

  async run() {
    this.timer = null;
    if (!this.due) return;
    this.due = false;
    this.asking = true;
    this.lastAt = this.clock.now();
    try {
      await this.ask();
    } catch {
      /* the next board asks again */
    } finally {
      this.asking = false;
    }
    if (this.due) this.schedule();
  }

  stop() {
    this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.due = false;
  }
}
