// Stand-ins for what the page's modules take from the browser: localStorage, and a clock whose
// time moves only when a test says so (after Trio's MockClock), so no test sleeps.

class MemoryStorage {
  constructor() {
    this.items = new Map();
  }
  get length() {
    return this.items.size;
  }
  key(i) {
    return Array.from(this.items.keys())[i] ?? null;
  }
  getItem(key) {
    return this.items.has(key) ? this.items.get(key) : null;
  }
  setItem(key, value) {
    this.items.set(key, String(value));
  }
  removeItem(key) {
    this.items.delete(key);
  }
  clear() {
    this.items.clear();
  }
  // What it holds now, and putting that back: two pages seeing the same store.
  copy() {
    return new Map(this.items);
  }
  restore(copy) {
    this.items = new Map(copy);
  }
}

// One store for the whole test process, emptied by each test that needs a clean one. Defined
// over any localStorage the runtime has, so every test reads this one.
Object.defineProperty(globalThis, "localStorage", {
  value: new MemoryStorage(),
  configurable: true,
  writable: true,
});

// Let promise callbacks (an HTTP answer, say) run.
export const settle = () => new Promise((resolve) => setImmediate(resolve));

export class FakeClock {
  constructor() {
    this.t = 0;
    this.timers = new Map(); // id → {at, fn, every}
    this.ids = 0;
  }

  now() {
    return this.t;
  }

  setTimeout(fn, ms) {
    this.ids += 1;
    this.timers.set(this.ids, { at: this.t + Math.max(0, ms || 0), fn, every: null });
    return this.ids;
  }

  clearTimeout(id) {
    this.timers.delete(id);
  }

  setInterval(fn, ms) {
    const id = this.setTimeout(fn, ms);
    this.timers.get(id).every = ms;
    return id;
  }

  clearInterval(id) {
    this.timers.delete(id);
  }

  // Move time on by ``ms``, running every timer that falls due on the way, in order, and the
  // promise callbacks each one starts.
  async advance(ms) {
    const end = this.t + ms;
    for (;;) {
      let next = null;
      for (const [id, timer] of this.timers) {
        if (timer.at <= end && (!next || timer.at < next[1].at)) next = [id, timer];
      }
      if (!next) break;
      const [id, timer] = next;
      this.t = timer.at;
      if (timer.every) timer.at += timer.every;
      else this.timers.delete(id);
      timer.fn();
      await settle();
    }
    this.t = end;
    await settle();
  }
}
