// The game page's WebSocket (SPEC §6): a fresh ws-token before every attempt, reconnects with
// the backoff of timing.js (1, 2, 4 … 30 s, ±10 %), a ping when the socket has gone quiet, and
// one teardown for every way a socket is given up.
import { Backoff, realClock } from "./timing.js";

const PING_EVERY_MS = 20000; // a quiet socket is pinged (SPEC §6 ping/pong) ...
const PONG_WAIT_MS = 10000; // ... and dropped when nothing at all comes back in time
const HANDSHAKE_MS = 15000; // a socket with no snapshot this long after opening is dropped
const BANNED = 4003; // SPEC §6: the server closes a banned player's socket with 4003
const RESYNC_AGAIN_MS = 5000; // a resync not answered by then (refused, lost) may be asked again

function wsUrl(token) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws?token=${encodeURIComponent(token)}`;
}

// api: the ApiClient (ws-token, session). on: {message(m, {first}), waiting() the socket is
// down and a try is coming, offline() the server cannot be reached, closed() a socket was
// given up, banned()}.
export class GameSocket {
  constructor({ api, on, clock = realClock }) {
    Object.assign(this, { api, on, clock });
    this.ws = null;
    this.live = false; // the snapshot arrived: the socket is fully usable
    this.everLive = false;
    this.connecting = false;
    this.stopped = false;
    this.backoff = new Backoff();
    this.reconnectTimer = null;
    this.reconnectAt = 0;
    this.lastMessageAt = 0;
    this.lastPingAt = 0;
    this.resyncAt = null; // when a resync was asked for and its snapshot has not come yet
  }

  async connect() {
    this.clock.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    if (this.stopped || this.connecting || this.ws) return;
    this.connecting = true;
    this.on.waiting();
    try {
      if (this.api.renewing) await this.api.renewing;
      if (!this.api.token) await this.api.newSession();
      let res;
      try {
        // A fresh short-lived token before every attempt (SPEC §5: it lives 90 s).
        res = await this.api.call("POST", "/api/ws-token");
      } catch {
        this.on.offline();
        this.scheduleReconnect();
        return;
      }
      if (!res.ok || !res.data || !res.data.token) {
        if (!this.api.handleAuthError(res)) this.scheduleReconnect();
        return;
      }
      this.open(res.data.token);
    } finally {
      this.connecting = false;
    }
  }

  open(token) {
    let sock;
    try {
      sock = new WebSocket(wsUrl(token), ["ctb.v1.json"]);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = sock;
    this.lastMessageAt = this.clock.now();
    sock.onmessage = (event) => this.received(event.data);
    sock.onclose = (event) => {
      this.teardown();
      if (event.code === BANNED) this.on.banned();
      else this.scheduleReconnect();
    };
  }

  received(text) {
    this.lastMessageAt = this.clock.now();
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (!message || typeof message.type !== "string") return;
    if (message.type === "snapshot") this.resyncAt = null;
    const first = message.type === "snapshot" && !this.live;
    if (first) {
      this.live = true;
      this.everLive = true;
      this.backoff.reset();
    }
    this.on.message(message, { first });
  }

  // The one way a socket is given up: forget it, close it if it is still open (code, reason),
  // and tell the page (a push on it will get no answer).
  teardown(code, reason) {
    const sock = this.ws;
    if (!sock) return;
    this.ws = null;
    this.live = false;
    this.resyncAt = null;
    sock.onmessage = null;
    sock.onclose = null;
    if (code !== undefined) sock.close(code, reason);
    this.on.closed();
  }

  send(message) {
    if (this.ws) this.ws.send(JSON.stringify(message));
  }

  // A board built on a version the page does not hold (SPEC §6): ask for the whole state, once
  // until its snapshot comes; the boards meanwhile fail the same check and are dropped.
  resync() {
    if (!this.ws || !this.live) return;
    const now = this.clock.now();
    if (this.resyncAt !== null && now - this.resyncAt < RESYNC_AGAIN_MS) return;
    this.resyncAt = now;
    this.send({ type: "resync" });
  }

  scheduleReconnect() {
    if (this.stopped) return;
    this.clock.clearTimeout(this.reconnectTimer);
    // ±10% so a restarted server is not met by every page in the same instant.
    const delay = this.backoff.fail() * (0.9 + Math.random() * 0.2);
    this.reconnectAt = this.clock.now() + delay;
    this.reconnectTimer = this.clock.setTimeout(() => this.connect(), delay);
    this.on.waiting();
  }

  // Try at once (the network is back, the page was restored, the player asked).
  reconnectNow() {
    if (this.ws || this.connecting || this.stopped) return;
    this.backoff.reset();
    this.connect();
  }

  // Seconds until the next try, or null when none is waiting.
  retryIn() {
    if (!this.reconnectTimer) return null;
    return Math.max(1, Math.ceil((this.reconnectAt - this.clock.now()) / 1000));
  }

  // The socket has gone quiet (a push got no ack): ping it, and drop it if nothing comes back.
  check() {
    if (!this.ws || !this.live) return;
    this.lastPingAt = this.clock.now();
    try {
      this.send({ type: "ping" });
    } catch {
      /* onclose follows */
    }
  }

  // Runs every 250 ms (at most once a minute in a hidden tab, which is why silence is measured
  // from the last ping and not from the last message).
  watch() {
    if (!this.ws) return;
    const now = this.clock.now();
    if (!this.live) {
      if (now - this.lastMessageAt > HANDSHAKE_MS) this.drop();
      return;
    }
    if (this.lastMessageAt >= this.lastPingAt) {
      if (now - this.lastMessageAt > PING_EVERY_MS) this.check();
    } else if (now - this.lastPingAt > PONG_WAIT_MS) {
      this.drop();
    }
  }

  drop() {
    this.teardown(4000, "silent");
    this.scheduleReconnect();
  }

  // The ban was lifted: connect again, at once.
  restart() {
    this.stopped = false;
    this.reconnectNow();
  }

  // While the player is banned: close, and do not connect again.
  stop() {
    this.stopped = true;
    this.clock.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.teardown(1000, "banned");
  }
}
