// The game page's HTTP client (SPEC §5): JSON requests with a timeout, the player's token and
// its renewal, and the server's clock read from the Date header.
import { storage } from "./queue.js";

export const TOKEN_KEY = "ctb.token";
const TIMEOUT_MS = 10000;
const SESSION_RETRY_MS = 3000; // the server could not be reached for a new session
const SESSION_WAIT_S = 5; // the server refused a new session without saying how long to wait

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// How long a refusal asks us to wait, in seconds: the error's details.retry_after (SPEC §4),
// else the Retry-After header, else 1.
export function retryAfterSeconds(error, header) {
  const fromBody = error && error.details && Number(error.details.retry_after);
  if (Number.isFinite(fromBody) && fromBody > 0) return fromBody;
  return Number.isFinite(header) && header > 0 ? header : 1;
}

// One request. Resolves to {ok, status, data, error, retryAfter, etag, date} for any answer,
// error being the server's {code, message, details} or one made from the status; rejects only
// when no answer came (network error, timeout).
export async function request(method, path, body, options = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeout || TIMEOUT_MS);
  const headers = { ...options.headers };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  try {
    const res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
      cache: "no-store",
      keepalive: Boolean(options.keepalive),
    });
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    const error = (data && data.error) || {
      code: `http_${res.status}`,
      message: `HTTP ${res.status}`,
    };
    return {
      ok: res.ok,
      status: res.status,
      data,
      error,
      retryAfter: Number(res.headers.get("Retry-After")),
      etag: res.headers.get("ETag"),
      date: res.headers.get("Date"),
    };
  } finally {
    clearTimeout(timer);
  }
}

// The player's side of the API: the token (kept in localStorage, shared by the player's tabs),
// a new session when there is none or the server no longer knows it, and the server's clock.
// hooks: player(p) a session brought a player; offline() the server cannot be reached;
// notice(text) something the player should read; banned(); renewed() a new player replaced an
// unknown one.
export class ApiClient {
  constructor(hooks) {
    this.hooks = hooks;
    this.token = storage.get(TOKEN_KEY);
    this.skew = 0; // server clock minus ours, seconds
    this.renewing = null; // the promise of a session renewal under way
  }

  // Now on the server's clock, in Unix seconds (board times are in it).
  serverNow() {
    return Date.now() / 1000 + this.skew;
  }

  // A request with the player's token unless options.auth is false.
  async call(method, path, body, options = {}) {
    const token = options.auth === false ? null : this.token;
    const res = await request(method, path, body, { ...options, token });
    this.noteServerDate(res.date);
    return res;
  }

  noteServerDate(header) {
    const server = header ? Date.parse(header) / 1000 : NaN;
    if (!Number.isFinite(server)) return;
    // The header has whole seconds: only a skew beyond that resolution is worth correcting.
    const skew = server + 0.5 - Date.now() / 1000;
    this.skew = Math.abs(skew) > 2 ? skew : 0;
  }

  // Another tab of this browser made a new session.
  tokenChanged(value) {
    if (value && value !== this.token) this.token = value;
  }

  // A new player; tries until the server gives one.
  async newSession() {
    for (;;) {
      let res = null;
      try {
        res = await this.call("POST", "/api/session", {}, { auth: false });
      } catch {
        this.hooks.offline();
        await sleep(SESSION_RETRY_MS);
        continue;
      }
      if (res.ok && res.data && res.data.token) {
        this.token = res.data.token;
        storage.set(TOKEN_KEY, this.token);
        this.hooks.player(res.data.player);
        return;
      }
      // 429 (the session limit) and 503 (a busy server, SPEC §11) say how long to wait.
      const told = res.status === 429 || res.status === 503;
      const wait = told ? retryAfterSeconds(res.error, res.retryAfter) : SESSION_WAIT_S;
      const again = `Trying again in ${Math.ceil(wait)} s.`;
      this.hooks.notice(`Could not create a player: ${res.error.message}. ${again}`);
      await sleep(wait * 1000);
    }
  }

  // A token the server no longer knows (a wiped game, a new SECRET_KEY): start as a new player.
  // Queued clicks stay queued and go to the new player.
  renewSession() {
    if (!this.renewing) {
      storage.remove(TOKEN_KEY);
      this.token = null;
      this.renewing = this.newSession().then(() => {
        this.renewing = null;
        this.hooks.notice("Your old session was not recognised; you are playing as a new player.");
        this.hooks.renewed();
      });
    }
    return this.renewing;
  }

  // A refusal that means the token is no good: banned, or a player the server does not know.
  // Returns true when it was one (and it has been dealt with).
  handleAuthError(res) {
    if (res.error.code === "banned") {
      this.hooks.banned();
      return true;
    }
    if (res.status === 401 || (res.status === 404 && res.error.code === "not_found")) {
      this.renewSession();
      return true;
    }
    return false;
  }
}
