// The push scheduler (SPEC §4): when the click queue's batches go to the server, over which way,
// and what each answer does to the queue. The queue (queue.js) decides what a batch holds; this
// decides when it leaves.
//
// Every CLICK_PUSH_RATE seconds the running count closes and the queue is pumped. One batch is
// in flight at a time. It goes over the WebSocket when the socket is live, else over HTTP; a
// batch that got no answer is resent unchanged after a backoff (1, 2, 4 … 30 s), and after a
// push over the socket failed the retry goes over HTTP. A `rate_limited` refusal is waited out
// for its `retry_after`; while an admin has paused the game nothing leaves (the page's
// canPush() says so) and the batches wait for the resume.
//
// It touches no DOM and no network itself: the page hands it the socket and HTTP ways and hooks
// for what the player should see, and a clock (timing.js) that the tests replace.
import { retryAfterSeconds } from "./api.js";
import { Backoff, realClock } from "./timing.js";

const ADOPT_EVERY_MS = 10000; // other tabs' stale queues are looked for this often
const ANSWER_WAIT_MS = 5000; // at least; a push over the socket with no ack is lost after this

// Refusals a resend of the same batch can never turn into an ack.
const REFUSED_FOR_GOOD = new Set([
  "invalid_request",
  "payload_too_large",
  "unsupported_media_type",
]);

// options:
//   queue       the tab's ClickQueue
//   settings()  the server's settings (click_push_rate)
//   canPush()   a session, the settings, no renewal under way, the game not paused
//   round()     the current round's id, or null
//   socket      {live(): bool, send(message)}: the WebSocket
//   http(body)  POST /api/push_clicks: resolves to the API client's answer, rejects when none came
//   on          {ack(reply), lost(via), roundOver(dropped), stale(dropped), adopted(),
//                refused(error), banned(), unauthorized() → a promise}
//   clock       timing.js's realClock unless a test gives another
export class PushScheduler {
  constructor({ queue, settings, canPush, round, socket, http, on, clock = realClock }) {
    Object.assign(this, { queue, settings, canPush, round, socket, http, on, clock });
    this.inflight = null; // {id, via, timer}
    this.lastSentAt = -Infinity;
    this.nextPushAt = 0;
    this.backoff = new Backoff();
    this.pumpTimer = null;
    this.useHttpOnce = false;
    this.tickTimer = null;
    this.tickRate = null;
    this.lastAdoptAt = -Infinity;
    this.stopped = false;
  }

  get rateMs() {
    return this.settings().click_push_rate * 1000;
  }

  // (Re)start the interval ticker at the settings' CLICK_PUSH_RATE.
  start() {
    const rate = this.settings().click_push_rate;
    if (this.tickTimer !== null && rate === this.tickRate) return;
    this.clock.clearInterval(this.tickTimer);
    this.tickRate = rate;
    this.tickTimer = this.clock.setInterval(() => this.tick(), rate * 1000);
  }

  // While the player is banned: nothing is sealed or sent any more.
  stop() {
    this.clock.clearInterval(this.tickTimer);
    this.clock.clearTimeout(this.pumpTimer);
    this.tickTimer = null;
    this.stopped = true;
  }

  // The ban was lifted: the batches still waiting go, and new ones follow.
  restart() {
    this.stopped = false;
    this.backoff.reset();
    this.nextPushAt = 0;
    this.start();
    this.pump();
  }

  tick() {
    if (this.stopped) return;
    this.checkAdopted();
    this.queue.closeInterval();
    this.pump();
  }

  // Send the next batch if one is waiting, nothing is in flight and its time has come.
  pump() {
    this.clock.clearTimeout(this.pumpTimer);
    if (this.stopped || !this.canPush() || this.inflight) return;
    this.checkAdopted();
    if (this.clock.now() - this.lastAdoptAt > ADOPT_EVERY_MS) this.adopt();
    this.dropStale();
    const batch = this.queue.next();
    if (!batch) return;
    const wait = this.nextPushAt - this.clock.now();
    if (wait > 0) {
      this.pumpTimer = this.clock.setTimeout(() => this.pump(), wait);
      return;
    }
    this.send(batch);
  }

  // May a batch leave right now (a closing tab's last try)?
  mayPushNow() {
    return !this.stopped && this.canPush() && !this.inflight && this.clock.now() >= this.nextPushAt;
  }

  send(batch) {
    this.lastSentAt = this.clock.now();
    const id = batch.id;
    if (this.socket.live() && !this.useHttpOnce) {
      const wait = Math.max(ANSWER_WAIT_MS, this.rateMs * 4);
      this.inflight = { id, via: "ws", timer: this.clock.setTimeout(() => this.lost(id), wait) };
      this.socket.send({ type: "clicks", batch_id: id, clicks: batch.clicks });
      return;
    }
    this.useHttpOnce = false;
    this.inflight = { id, via: "http", timer: null };
    this.http({ batch_id: id, clicks: batch.clicks }).then(
      (res) => {
        if (res.ok && res.data) this.result(id, res.data);
        else if (res.status >= 500 && res.error.code !== "unavailable") this.lost(id);
        else this.refused(id, res.error, res.retryAfter);
      },
      () => this.lost(id),
    );
  }

  settle(id) {
    if (this.inflight && this.inflight.id === id) {
      this.clock.clearTimeout(this.inflight.timer);
      this.inflight = null;
    }
  }

  // No answer (network error, timeout, socket closed): the batch stays and is resent unchanged.
  lost(id) {
    if (!this.inflight || this.inflight.id !== id) return;
    const via = this.inflight.via;
    this.settle(id);
    this.waitAtLeast(this.backoff.fail());
    if (via === "ws") this.useHttpOnce = true; // the socket may be dead: the retry uses HTTP
    this.on.lost(via);
    this.pump();
  }

  // The socket closed: a push on it will get no answer.
  socketClosed() {
    if (this.inflight && this.inflight.via === "ws") this.lost(this.inflight.id);
  }

  // The way to the server is open again: no need to wait out the backoff of failed pushes.
  resetBackoff() {
    this.backoff.reset();
    this.nextPushAt = Math.min(this.nextPushAt, this.lastSentAt + this.rateMs);
  }

  waitAtLeast(ms) {
    this.nextPushAt = Math.max(this.nextPushAt, this.clock.now() + ms);
  }

  // The server applied a batch (an ack, the HTTP reply, or duplicate: true).
  result(id, reply) {
    this.settle(id);
    if (!this.queue.remove(id)) return; // already settled: a late answer to a retry
    this.backoff.reset();
    const rate = this.rateMs;
    // The next push leaves a full interval after this one was sent and at least half an
    // interval after the server applied it: on average one push per CLICK_PUSH_RATE, well
    // inside the server's bucket of pushes (SPEC §4).
    this.nextPushAt = Math.max(this.lastSentAt + rate, this.clock.now() + rate * 0.5 + 20);
    if (typeof reply.next_push_after === "number") {
      this.nextPushAt = Math.max(this.nextPushAt, this.lastSentAt + reply.next_push_after * 1000);
    }
    this.on.ack(reply);
    this.pump();
  }

  // The server refused a batch. retryAfterHeader: HTTP's Retry-After, when it came that way.
  refused(id, error, retryAfterHeader) {
    this.settle(id);
    if (!this.queue.has(id)) return;
    const code = error.code;
    if (code === "rate_limited") {
      this.waitAtLeast(retryAfterSeconds(error, retryAfterHeader) * 1000);
      this.pump();
    } else if (code === "round_not_active") {
      // Decision: the server counts clicks only inside a round, and holding them for the next
      // one would hand round N's clicks to round N+1's race. So everything still waiting when
      // the server says the round is over is dropped, and the page says how many.
      this.on.roundOver(this.queue.dropAll());
    } else if (code === "paused") {
      // The board says so within a tick; from then canPush() holds the batch until the resume,
      // when the page pumps again. Nothing is dropped and no backoff builds up.
      this.waitAtLeast(this.rateMs);
      this.pump();
    } else if (code === "banned") {
      this.on.banned();
    } else if (code === "unauthorized" || code === "not_found") {
      this.on.unauthorized().then(() => this.pump());
    } else if (REFUSED_FOR_GOOD.has(code)) {
      // Resending a refused batch can never help; it is dropped so the rest can go.
      this.queue.remove(id);
      this.on.refused(error);
      this.pump();
    } else {
      // unavailable and anything unexpected: try again later with the same batch.
      this.waitAtLeast(this.backoff.fail());
      this.pump();
    }
  }

  // Another page took this tab's queue over: what was in flight is its to deliver.
  checkAdopted() {
    if (this.queue.wasAdopted() && this.inflight) this.settle(this.inflight.id);
  }

  // Take over the queues of closed or stale tabs of this browser.
  adopt() {
    this.lastAdoptAt = this.clock.now();
    if (this.queue.adoptOrphans()) this.on.adopted();
  }

  // Clicks belong to the round they were made in (see refused): what was made in a round that
  // is no longer the current one is dropped rather than counted in another round's race.
  dropStale() {
    const round = this.round();
    if (round == null) return;
    const dropped = this.queue.dropOtherRounds(round, this.inflight && this.inflight.id);
    if (dropped) this.on.stale(dropped);
  }
}
