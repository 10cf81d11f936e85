// The game page's life in the browser: a tab that closes or comes back from the back/forward
// cache, another tab of the same player, the network going and coming back, and the public
// snapshot read while the socket is down.
import { TOKEN_KEY } from "./api.js";

const POLL_MS = 5000; // while the socket is down, /api/snapshot is read this often

// offline(): the network is gone (the page says so unless its socket still works).
export function bindPageLife({ api, queue, pusher, socket, settingsKnown, offline }) {
  // A closing tab seals what it has and marks its queue as closed, so the next page adopts it
  // at once; if a push may go now, it also tries to deliver the first batch on its way out.
  window.addEventListener("pagehide", () => {
    pusher.checkAdopted();
    const batch = queue.close();
    if (batch && pusher.mayPushNow()) {
      const body = { batch_id: batch.id, clicks: batch.clicks };
      api.call("POST", "/api/push_clicks", body, { keepalive: true }).catch(() => {});
    }
  });
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    queue.reopen();
    socket.reconnectNow();
  });
  window.addEventListener("storage", (event) => {
    if (event.key === TOKEN_KEY) api.tokenChanged(event.newValue);
    // Another tab of this player just closed: take its queue over now, not at the next sweep.
    if (queue.isClosingTab(event.key, event.newValue) && settingsKnown()) {
      pusher.adopt();
      pusher.pump();
    }
  });
  window.addEventListener("online", () => socket.reconnectNow());
  window.addEventListener("offline", offline);
}

// Without the socket the race still moves: the public snapshot is read every POLL_MS (a 304
// when nothing changed), and pushes go over HTTP. idle(): no need to read (the socket is live,
// or the player banned); apply(data): a snapshot came while the socket is still down.
export class SnapshotPoll {
  constructor({ api, idle, apply }) {
    Object.assign(this, { api, idle, apply });
    this.tag = null;
    this.lastAt = 0;
    this.polling = false;
  }

  // Not before POLL_MS from now (the page has just read the state itself).
  wait() {
    this.lastAt = performance.now();
  }

  async poll() {
    if (this.idle() || this.polling || performance.now() - this.lastAt < POLL_MS) return;
    this.polling = true;
    this.lastAt = performance.now();
    try {
      const headers = this.tag ? { "If-None-Match": this.tag } : {};
      const res = await this.api.call("GET", "/api/snapshot", undefined, { auth: false, headers });
      if (res.ok && res.data && !this.idle()) {
        this.tag = res.etag;
        this.apply(res.data);
      }
    } catch {
      /* the banner already says the server cannot be reached */
    } finally {
      this.polling = false;
    }
  }
}
