// The click queue of one tab (SPEC §4, §9): counts clicks, seals them into batches, and keeps
// every batch in localStorage until the server has answered for it.
//
// Every CLICK_PUSH_RATE seconds the running count closes as one "interval count". When nothing is
// waiting for an answer, the closed counts become one batch (no more counts than a push may
// carry, none above the largest count allowed) with a batch_id made here; the batch is saved
// *before* it is sent and from then on never changes. It leaves storage only when the server
// answers for it (an ack, or duplicate: true), so a lost connection, a reload or a closed tab
// loses no click and a retry can never count twice.
//
// Each tab keeps its own queue under "ctb.q.<tab id>", so two tabs of one player never overwrite
// each other's clicks. A tab that was closed (or has not saved for STALE_MS) is adopted by
// another page: its sealed batches are resent unchanged, and its loose counts are sealed under
// ids derived from its own, so two pages adopting it at once send exactly the same batches.

const PREFIX = "ctb.q.";
const STALE_MS = 150000; // a hidden tab's timers may run only once a minute
export const MAX_COUNTS = 32; // SPEC §4: at most 32 counts a push, unless the server says

export function randomId(length) {
  const bytes = new Uint8Array(length);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => (b % 36).toString(36)).join("");
}

// localStorage can throw (private mode, full, disabled): the queue then lives in memory only.
export const storage = {
  get(key) {
    try {
      return localStorage.getItem(key);
    } catch {
      return null;
    }
  },
  set(key, value) {
    try {
      localStorage.setItem(key, value);
      return true;
    } catch {
      return false;
    }
  },
  remove(key) {
    try {
      localStorage.removeItem(key);
    } catch {
      /* nothing to do */
    }
  },
  keys() {
    try {
      return Array.from({ length: localStorage.length }, (_, i) => localStorage.key(i));
    } catch {
      return [];
    }
  },
};

export const sum = (list) => list.reduce((a, b) => a + b, 0);

const positiveInts = (list) =>
  Array.isArray(list) ? list.filter((n) => Number.isInteger(n) && n > 0) : [];

// Interval counts → lists of at most ``most`` counts, none above ``top``: a bigger count is
// split, never clipped.
export function splitCounts(counts, top, most = MAX_COUNTS) {
  const pieces = [];
  for (const count of counts) {
    for (let left = count; left > 0; left -= top) pieces.push(Math.min(left, top));
  }
  const lists = [];
  for (let i = 0; i < pieces.length; i += most) lists.push(pieces.slice(i, i + most));
  return lists;
}

// seq: the next batch number; batches: sealed [{id, clicks, round}], oldest first; open: closed
// interval counts not in a batch yet; cur: the running interval's count; round: the round the
// loose counts were made in; closed: the tab has gone; at: when the tab last saved.
const emptyState = (seq) => ({
  seq,
  batches: [],
  open: [],
  cur: 0,
  round: null,
  closed: false,
  at: 0,
});

export class ClickQueue {
  // maxCount and maxCounts: functions giving the largest count a push may carry and the most
  // counts in one push (SPEC §4), read when sealing, so they follow the server's settings.
  constructor(maxCount, maxCounts = () => MAX_COUNTS) {
    this.tab = randomId(8);
    this.key = PREFIX + this.tab;
    this.maxCount = maxCount;
    this.maxCounts = maxCounts;
    this.state = emptyState(0);
    this.written = false;
    this.gone = false; // closed: the stored queue is the next page's to adopt, not ours to write
  }

  save() {
    // A timer or a late answer can still run in a tab that has closed. Its stored queue may
    // already be adopted, so writing it again would hand the same batches out a second time.
    if (this.gone) return;
    this.state.at = Date.now();
    this.written = storage.set(this.key, JSON.stringify(this.state)) || this.written;
  }

  get batches() {
    return this.state.batches;
  }

  get pending() {
    const s = this.state;
    return s.cur + sum(s.open) + sum(s.batches.map((b) => sum(b.clicks)));
  }

  has(id) {
    return this.state.batches.some((b) => b.id === id);
  }

  // Another page adopted this queue (the tab looked closed or stale, e.g. restored from the
  // back/forward cache): what it took is its to deliver, so start afresh under the same tab id.
  // Returns true when that happened.
  wasAdopted() {
    if (!this.written || storage.get(this.key) !== null) return false;
    this.state = emptyState(this.state.seq);
    this.written = false;
    return true;
  }

  // Is this storage change another tab of this browser saying it has closed?
  isClosingTab(key, value) {
    return Boolean(
      key && key.startsWith(PREFIX) && key !== this.key && value && value.includes('"closed":true')
    );
  }

  // Take over the queues of closed or stale tabs. Returns how many batches were taken.
  adoptOrphans() {
    const adopted = [];
    for (const key of storage.keys()) {
      if (!key || !key.startsWith(PREFIX) || key === this.key) continue;
      let other = null;
      try {
        other = JSON.parse(storage.get(key));
      } catch {
        other = null;
      }
      if (!other || typeof other !== "object") {
        storage.remove(key);
        continue;
      }
      if (!other.closed && Date.now() - (other.at || 0) < STALE_MS) continue; // a live tab
      const round = other.round ?? null;
      for (const b of Array.isArray(other.batches) ? other.batches : []) {
        const clicks = positiveInts(b && b.clicks);
        if (typeof b.id === "string" && clicks.length) {
          adopted.push({ id: b.id, clicks, round: b.round ?? null });
        }
      }
      // Loose counts get ids in a namespace of their own ("_"), derived from the orphan's.
      const tab = key.slice(PREFIX.length);
      const base = `${tab}_${(other.seq | 0).toString(36)}_`;
      const loose = positiveInts(other.open).concat(positiveInts([other.cur]));
      splitCounts(loose, this.maxCount(), this.maxCounts()).forEach((clicks, k) => {
        adopted.push({ id: base + k, clicks, round });
      });
      storage.remove(key);
    }
    if (adopted.length) {
      this.state.batches = adopted.concat(this.state.batches);
      this.save();
    }
    return adopted.length;
  }

  // One click, made in ``round``.
  press(round) {
    const s = this.state;
    s.round = round;
    s.cur += 1;
    this.save();
  }

  // The push interval is over: its count closes.
  closeInterval() {
    const s = this.state;
    if (s.cur > 0) {
      s.open.push(s.cur);
      s.cur = 0;
    }
    this.save();
  }

  // The batch to send now: the oldest sealed one, or a new one sealed from the closed interval
  // counts, oldest first (what does not fit waits, still one count per interval).
  next() {
    if (this.gone) return null; // a closed tab seals and sends nothing more
    const s = this.state;
    if (s.batches.length) return s.batches[0];
    if (!s.open.length) return null;
    const top = this.maxCount();
    const most = this.maxCounts();
    const clicks = [];
    while (s.open.length && clicks.length < most) {
      const piece = Math.min(s.open[0], top);
      clicks.push(piece);
      if (piece === s.open[0]) s.open.shift();
      else s.open[0] -= piece;
    }
    const batch = { id: `${this.tab}-${(s.seq++).toString(36)}`, clicks, round: s.round };
    s.batches.push(batch);
    this.save();
    return batch;
  }

  // The server answered for a batch: it leaves the queue. Returns false for an unknown id.
  remove(id) {
    const s = this.state;
    const before = s.batches.length;
    s.batches = s.batches.filter((b) => b.id !== id);
    if (s.batches.length === before) return false;
    this.save();
    return true;
  }

  // Drop what was made in another round than ``round`` (but never the batch ``keep``, which is
  // on its way). Returns the number of clicks dropped.
  dropOtherRounds(round, keep) {
    const s = this.state;
    let dropped = 0;
    s.batches = s.batches.filter((b) => {
      const stale = b.round != null && b.round !== round && b.id !== keep;
      if (stale) dropped += sum(b.clicks);
      return !stale;
    });
    if (s.round != null && s.round !== round) {
      dropped += s.cur + sum(s.open);
      s.cur = 0;
      s.open = [];
      s.round = round;
    }
    if (dropped) this.save();
    return dropped;
  }

  // Drop everything. Returns the number of clicks dropped.
  dropAll() {
    const dropped = this.pending;
    const s = this.state;
    s.batches = [];
    s.open = [];
    s.cur = 0;
    this.save();
    return dropped;
  }

  // The tab is going away: seal what can be sealed and mark the queue closed, so the next page
  // adopts it at once. Returns the batch worth one last try.
  close() {
    this.closeInterval();
    const first = this.next();
    this.state.closed = true;
    this.save();
    this.gone = true;
    return first;
  }

  // The tab came back from the back/forward cache.
  reopen() {
    this.gone = false;
    this.wasAdopted();
    this.state.closed = false;
    this.save();
  }
}
