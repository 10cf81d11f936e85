// Click the Button: the game page (SPEC §9). Plain JavaScript modules, no build step.
//
// This module talks to the server: the session, the pushes of the click queue (queue.js), the
// WebSocket with its reconnect backoff, and the page's rendering of what the server says.
import { ClickQueue, storage } from "/static/queue.js";
import * as view from "/static/view.js";

const { $, clearNotice, fmt, notice, plural } = view;

const TOKEN_KEY = "ctb.token";
const BACKOFF = [1, 2, 4, 8, 16, 30]; // SPEC §9: reconnect backoff, seconds
const PING_EVERY_MS = 20000; // a quiet socket is pinged (SPEC §6 ping/pong) ...
const PONG_WAIT_MS = 10000; // ... and dropped when nothing at all comes back in time
const HANDSHAKE_MS = 15000; // a socket with no snapshot this long after opening is dropped
const POLL_MS = 5000; // while the socket is down, /api/snapshot is read this often
const DEFAULT_SETTINGS = {
  click_push_rate: 1.0,
  max_cps: 20,
  burst_seconds: 10,
  broadcast_interval: 0.25,
};

const nowMs = () => performance.now();

// ---------------------------------------------------------------- state

const S = {
  token: storage.get(TOKEN_KEY),
  me: null,
  settings: { ...DEFAULT_SETTINGS },
  settingsKnown: false,
  board: null,
  roundId: undefined,
  skew: 0, // server clock minus ours, seconds (from the HTTP Date header)
  banned: false,
  scope: "round",
};

// ---------------------------------------------------------------- the click queue

const queue = new ClickQueue(maxCount);
let lastAdoptAt = -Infinity;

function maxCount() {
  const s = S.settings;
  return Math.max(1, Math.floor(s.max_cps * s.click_push_rate * 10 + 1e-9));
}

function checkAdopted() {
  if (queue.wasAdopted() && inflight) settle(inflight.id);
}

function adopt() {
  lastAdoptAt = nowMs();
  if (queue.adoptOrphans()) renderCounts();
}

function currentRoundId() {
  return S.board && S.board.round ? S.board.round.id : null;
}

// Clicks belong to the round they were made in (see onPushError): what was made in a round
// that is no longer the current one is dropped rather than counted in another round's race.
function dropStale() {
  const round = currentRoundId();
  if (round == null) return;
  const dropped = queue.dropOtherRounds(round, inflight && inflight.id);
  if (dropped) {
    notice(`${plural(dropped, "click")} from an earlier round came too late to count.`);
    renderCounts();
  }
}

// ---------------------------------------------------------------- HTTP

function noteServerDate(header) {
  const server = header ? Date.parse(header) / 1000 : NaN;
  if (!Number.isFinite(server)) return;
  // The header has whole seconds: only a skew beyond that resolution is worth correcting.
  const skew = server + 0.5 - Date.now() / 1000;
  S.skew = Math.abs(skew) > 2 ? skew : 0;
}

const serverNow = () => Date.now() / 1000 + S.skew;

async function api(method, path, body, options = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeout || 10000);
  const headers = { ...options.headers };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (S.token && options.auth !== false) headers.Authorization = `Bearer ${S.token}`;
  try {
    const res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
      cache: "no-store",
      keepalive: Boolean(options.keepalive),
    });
    noteServerDate(res.headers.get("Date"));
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
    const retryAfter = Number(res.headers.get("Retry-After"));
    const etag = res.headers.get("ETag");
    return { ok: res.ok, status: res.status, data, error, retryAfter, etag };
  } finally {
    clearTimeout(timer);
  }
}

async function newSession() {
  for (;;) {
    let res = null;
    try {
      res = await api("POST", "/api/session", {}, { auth: false });
    } catch {
      setConn("offline");
      await sleep(3000);
      continue;
    }
    if (res.ok && res.data && res.data.token) {
      S.token = res.data.token;
      storage.set(TOKEN_KEY, S.token);
      applyMe(res.data.player);
      return;
    }
    const wait = res.status === 429 ? retryAfterSeconds(res.error, res.retryAfter) : 5;
    const again = `Trying again in ${Math.ceil(wait)} s.`;
    notice(`Could not create a player: ${res.error.message}. ${again}`);
    await sleep(wait * 1000);
  }
}

// A token the server no longer knows (a wiped game, a new SECRET_KEY): start as a new player.
// Queued clicks stay queued and go to the new player.
let renewing = null;
function renewSession() {
  if (!renewing) {
    storage.remove(TOKEN_KEY);
    S.token = null;
    renewing = newSession().then(() => {
      renewing = null;
      notice("Your old session was not recognised; you are playing as a new player.");
      reconnectNow();
    });
  }
  return renewing;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function retryAfterSeconds(error, header) {
  const fromBody = error && error.details && Number(error.details.retry_after);
  if (Number.isFinite(fromBody) && fromBody > 0) return fromBody;
  return Number.isFinite(header) && header > 0 ? header : 1;
}

// Any refusal that means the token is no good.
function handleAuthError(res) {
  if (res.error.code === "banned") {
    banned();
    return true;
  }
  if (res.status === 401 || (res.status === 404 && res.error.code === "not_found")) {
    renewSession();
    return true;
  }
  return false;
}

async function refresh() {
  let snap = null;
  let me = null;
  try {
    [snap, me] = await Promise.all([
      api("GET", "/api/snapshot", undefined, { auth: false }),
      api("GET", "/api/me"),
    ]);
  } catch {
    if (!wsLive) setConn("offline");
    return false;
  }
  if (snap.ok && snap.data) applySnapshot(snap.data);
  if (me.ok && me.data) applyMe(me.data.player || me.data);
  else handleAuthError(me);
  render();
  return snap.ok;
}

// ---------------------------------------------------------------- pushing clicks

let inflight = null; // {id, via, timer}
let lastSentAt = -Infinity;
let nextPushAt = 0;
let pushFailures = 0;
let pumpTimer = null;
let useHttpOnce = false;

function canPush() {
  return !S.banned && S.token && S.settingsKnown && !renewing;
}

function pump() {
  clearTimeout(pumpTimer);
  if (!canPush() || inflight) return;
  checkAdopted();
  if (nowMs() - lastAdoptAt > 10000) adopt();
  dropStale();
  const batch = queue.next();
  if (!batch) return;
  const wait = nextPushAt - nowMs();
  if (wait > 0) {
    pumpTimer = setTimeout(pump, wait);
    return;
  }
  send(batch);
}

function send(batch) {
  lastSentAt = nowMs();
  const rate = S.settings.click_push_rate;
  if (ws && wsLive && !useHttpOnce) {
    const id = batch.id;
    inflight = {
      id,
      via: "ws",
      timer: setTimeout(() => pushLost(id), Math.max(5000, rate * 4000)),
    };
    ws.send(JSON.stringify({ type: "clicks", batch_id: id, clicks: batch.clicks }));
    return;
  }
  useHttpOnce = false;
  inflight = { id: batch.id, via: "http", timer: null };
  httpPush(batch);
}

async function httpPush(batch) {
  let res;
  try {
    res = await api("POST", "/api/push_clicks", { batch_id: batch.id, clicks: batch.clicks });
  } catch {
    pushLost(batch.id);
    return;
  }
  if (res.ok && res.data) onResult(batch.id, res.data);
  else if (res.status >= 500 && res.error.code !== "unavailable") pushLost(batch.id);
  else onPushError(batch.id, res.error, res.retryAfter, res);
}

// The way to the server is open again: no need to wait out the backoff of failed pushes.
function resetPushBackoff() {
  pushFailures = 0;
  nextPushAt = Math.min(nextPushAt, lastSentAt + S.settings.click_push_rate * 1000);
}

function settle(id) {
  if (inflight && inflight.id === id) {
    clearTimeout(inflight.timer);
    inflight = null;
  }
}

// No answer (network error, timeout, socket closed): the batch stays and is resent unchanged.
function pushLost(id) {
  if (!inflight || inflight.id !== id) return;
  const via = inflight.via;
  settle(id);
  pushFailures += 1;
  const delay = BACKOFF[Math.min(pushFailures - 1, BACKOFF.length - 1)] * 1000;
  nextPushAt = Math.max(nextPushAt, nowMs() + delay);
  if (via === "ws") {
    useHttpOnce = true; // the socket may be dead: the retry goes over HTTP
    checkSocket();
  } else if (!wsLive) {
    setConn("offline");
  }
  pump();
}

function onResult(id, r) {
  settle(id);
  if (!queue.remove(id)) return; // already settled: a late answer to a retry
  pushFailures = 0;
  const rate = S.settings.click_push_rate * 1000;
  // The next push leaves a full interval after this one was sent, and at least half an
  // interval after the server applied it, so it can never be "too soon" (SPEC §4).
  nextPushAt = Math.max(lastSentAt + rate, nowMs() + rate * 0.5 + 20);
  if (typeof r.next_push_after === "number") {
    nextPushAt = Math.max(nextPushAt, lastSentAt + r.next_push_after * 1000);
  }
  if (r.duplicate) {
    refreshMeSoon(); // a repeated answer carries the numbers of its first time
  } else if (S.me) {
    S.me.score = r.score;
    S.me.round_score = r.round_score;
    S.me.rank = r.rank;
    S.me.round_rank = r.round_rank;
    bumpPlanetTotal(S.me.planet, r.planet_total);
  }
  if (r.throttled > 0) {
    notice(
      `Slow down: ${fmt(r.throttled)} click${r.throttled === 1 ? " was" : "s were"} over the ` +
        `limit of ${S.settings.max_cps} a second and did not count.`,
      "warn",
    );
  }
  render();
  pump();
}

// Refusals a resend of the same batch can never turn into an ack.
const REFUSED_FOR_GOOD = new Set([
  "invalid_request",
  "payload_too_large",
  "unsupported_media_type",
]);

function onPushError(id, error, retryAfterHeader) {
  settle(id);
  if (!queue.has(id)) return;
  const code = error.code;
  if (code === "rate_limited") {
    const wait = retryAfterSeconds(error, retryAfterHeader);
    nextPushAt = Math.max(nextPushAt, nowMs() + wait * 1000);
    pump();
    return;
  }
  if (code === "round_not_active") {
    // Decision: the server counts clicks only inside a round, and holding them for the next
    // one would hand round N's clicks to round N+1's race. So everything still waiting when
    // the server says the round is over is dropped, and the page says how many.
    const n = queue.dropAll();
    if (n) notice(`The round is over: ${plural(n, "click")} came too late to count.`);
    if (S.board && S.board.round && S.board.round.status === "active") refresh();
    render();
    return;
  }
  if (code === "banned") {
    banned();
    return;
  }
  if (code === "unauthorized" || code === "not_found") {
    renewSession().then(pump);
    return;
  }
  if (REFUSED_FOR_GOOD.has(code)) {
    // Resending a refused batch can never help; it is dropped so the rest can go.
    queue.remove(id);
    notice(`Some clicks were refused: ${error.message}`, "warn");
    render();
    pump();
    return;
  }
  // unavailable and anything unexpected: try again later with the same batch.
  pushFailures += 1;
  const delay = BACKOFF[Math.min(pushFailures - 1, BACKOFF.length - 1)] * 1000;
  nextPushAt = Math.max(nextPushAt, nowMs() + delay);
  pump();
}

// Every CLICK_PUSH_RATE seconds the running count closes and the queue is pumped.
let tickTimer = null;
let tickRate = null;

function startTicker() {
  const rate = S.settings.click_push_rate;
  if (tickTimer && rate === tickRate) return;
  clearInterval(tickTimer);
  tickRate = rate;
  tickTimer = setInterval(tick, rate * 1000);
}

function tick() {
  if (S.banned) return;
  checkAdopted();
  queue.closeInterval();
  pump();
}

let meTimer = null;
function refreshMeSoon() {
  clearTimeout(meTimer);
  meTimer = setTimeout(async () => {
    try {
      const res = await api("GET", "/api/me");
      if (res.ok && res.data) {
        applyMe(res.data.player || res.data);
        render();
      } else handleAuthError(res);
    } catch {
      /* the next answer will do */
    }
  }, 300);
}

// ---------------------------------------------------------------- WebSocket (SPEC §6)

let ws = null;
let wsLive = false; // the snapshot arrived: the socket is fully usable
let everLive = false;
let attempt = 0;
let reconnectTimer = null;
let reconnectAt = 0;
let connState = "connecting";
let lastMessageAt = 0;
let lastPingAt = 0;
let connecting = false;

function wsUrl(token) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws?token=${encodeURIComponent(token)}`;
}

async function connect() {
  clearTimeout(reconnectTimer);
  reconnectTimer = null;
  if (S.banned || connecting || ws) return;
  connecting = true;
  if (connState !== "offline") setConn(everLive ? "reconnecting" : "connecting");
  try {
    if (renewing) await renewing;
    if (!S.token) await newSession();
    let res;
    try {
      // A fresh short-lived token before every attempt (SPEC §5: it lives 90 s).
      res = await api("POST", "/api/ws-token");
    } catch {
      setConn("offline");
      scheduleReconnect();
      return;
    }
    if (!res.ok || !res.data || !res.data.token) {
      if (!handleAuthError(res)) scheduleReconnect();
      return;
    }
    open(res.data.token);
  } finally {
    connecting = false;
  }
}

function open(token) {
  let sock;
  try {
    sock = new WebSocket(wsUrl(token), ["ctb.v1.json"]);
  } catch {
    scheduleReconnect();
    return;
  }
  ws = sock;
  lastMessageAt = nowMs();
  sock.onmessage = (event) => {
    if (sock !== ws) return;
    lastMessageAt = nowMs();
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (message && typeof message.type === "string") onMessage(message);
  };
  sock.onclose = (event) => {
    if (sock !== ws) return;
    ws = null;
    wsLive = false;
    if (inflight && inflight.via === "ws") pushLost(inflight.id);
    if (event.code === 4003) {
      banned();
      return;
    }
    scheduleReconnect();
  };
}

function scheduleReconnect() {
  if (S.banned) return;
  clearTimeout(reconnectTimer);
  const base = BACKOFF[Math.min(attempt, BACKOFF.length - 1)];
  attempt += 1;
  // ±10% so a restarted server is not met by every page in the same instant.
  const delay = base * 1000 * (0.9 + Math.random() * 0.2);
  reconnectAt = nowMs() + delay;
  reconnectTimer = setTimeout(connect, delay);
  if (connState !== "offline") setConn(everLive ? "reconnecting" : "connecting");
  else setConn("offline");
}

function reconnectNow() {
  if (ws || connecting || S.banned) return;
  attempt = 0;
  connect();
}

// The socket has gone quiet (a push got no ack): ping it, and drop it if nothing comes back.
function checkSocket() {
  if (!ws || !wsLive) return;
  lastPingAt = nowMs();
  try {
    ws.send(JSON.stringify({ type: "ping" }));
  } catch {
    /* onclose follows */
  }
}

// Runs every 250 ms (at most once a minute in a hidden tab, which is why silence is measured
// from the last ping and not from the last message).
function watchSocket() {
  if (!ws) return;
  const now = nowMs();
  if (!wsLive) {
    if (now - lastMessageAt > HANDSHAKE_MS) dropSocket();
    return;
  }
  if (lastMessageAt >= lastPingAt) {
    if (now - lastMessageAt > PING_EVERY_MS) checkSocket();
  } else if (now - lastPingAt > PONG_WAIT_MS) {
    dropSocket();
  }
}

function dropSocket() {
  const sock = ws;
  ws = null;
  wsLive = false;
  sock.onclose = null;
  sock.close(4000, "silent");
  if (inflight && inflight.via === "ws") pushLost(inflight.id);
  scheduleReconnect();
}

// Without the socket the race still moves: the public snapshot is read every POLL_MS
// (a 304 when nothing changed), and pushes go over HTTP.
let snapshotTag = null;
let lastPollAt = 0;
let polling = false;

async function pollWhileDown() {
  if (wsLive || polling || S.banned || nowMs() - lastPollAt < POLL_MS) return;
  polling = true;
  lastPollAt = nowMs();
  try {
    const headers = snapshotTag ? { "If-None-Match": snapshotTag } : {};
    const res = await api("GET", "/api/snapshot", undefined, { auth: false, headers });
    if (res.ok && res.data && !wsLive) {
      snapshotTag = res.etag;
      applySnapshot(res.data);
      render();
    }
  } catch {
    /* the banner already says the server cannot be reached */
  } finally {
    polling = false;
  }
}

const HANDLERS = {
  snapshot(m) {
    const first = !wsLive;
    wsLive = true;
    everLive = true;
    attempt = 0;
    if (first) resetPushBackoff();
    applySnapshot(m.data || {});
    if (m.data && m.data.me) applyMe(m.data.me);
    setConn("live");
    render();
    if (first) pump();
  },
  board(m) {
    applyBoard(m.data || {});
    render();
  },
  ack(m) {
    onResult(m.batch_id, m);
  },
  round(m) {
    if (m.event === "started") refreshMeSoon();
    render();
  },
  error(m) {
    if (m.batch_id) onPushError(m.batch_id, m);
    else if (m.code === "banned") banned();
    else console.warn("server:", m.code, m.message);
  },
  pong() {},
};

function onMessage(message) {
  const handler = HANDLERS[message.type];
  if (handler) handler(message);
}

// ---------------------------------------------------------------- applying server state

function applySnapshot(data) {
  if (data.settings) {
    S.settings = { ...DEFAULT_SETTINGS, ...data.settings };
    S.settingsKnown = true;
    startTicker();
  }
  applyBoard(data);
}

function applyBoard(data) {
  if (!data.round && !data.planets) return;
  const round = data.round || (S.board && S.board.round) || {};
  if (S.roundId !== undefined && round.id !== S.roundId && S.me) {
    // A new round: the round score starts again (the server resets it lazily, SPEC §3).
    S.me.round_score = 0;
    S.me.round_rank = null;
    clearNotice();
  }
  S.roundId = round.id;
  S.board = {
    round,
    planets: data.planets || (S.board && S.board.planets) || [],
    leaderboard: data.leaderboard || (S.board && S.board.leaderboard) || { round: [], all: [] },
    online: data.online ?? (S.board && S.board.online),
    players_total: data.players_total ?? (S.board && S.board.players_total),
  };
}

function applyMe(player) {
  if (!player || typeof player !== "object") return;
  S.me = { ...player };
  if (player.status === "banned") banned();
}

function bumpPlanetTotal(planet, total) {
  if (!S.board || typeof total !== "number") return;
  for (const p of S.board.planets) if (p.name === planet && total > p.total) p.total = total;
}

function roundActive() {
  const r = S.board && S.board.round;
  if (!r || r.status !== "active" || !inThisRound()) return false;
  return !(typeof r.ends_at === "number" && serverNow() >= r.ends_at);
}

// An admin may queue a round without some planets (SPEC §3); their players sit it out.
function inThisRound() {
  const planets = S.board && S.board.round && S.board.round.planets;
  return !S.me || !planets || !planets.length || planets.includes(S.me.planet);
}

// ---------------------------------------------------------------- rendering (view.js)

function render() {
  renderCounts();
  view.showMe(S.me);
  view.showRace(S.board, S.me);
  view.showLeaders(S.board, S.me, S.scope);
  renderRound();
}

function renderCounts() {
  view.showCounts(S.me, queue.pending);
}

function renderRound() {
  view.showRound(S.board, S.me, {
    now: serverNow(),
    active: roundActive(),
    inRound: inThisRound(),
    banned: S.banned,
  });
}

function setConn(state) {
  connState = state;
  renderConn();
}

function renderConn() {
  const retryIn = reconnectTimer ? Math.max(1, Math.ceil((reconnectAt - nowMs()) / 1000)) : null;
  view.showConnection(connState, retryIn, S.board);
}

function banned() {
  if (S.banned) return;
  S.banned = true;
  clearInterval(tickTimer);
  clearTimeout(pumpTimer);
  clearTimeout(reconnectTimer);
  reconnectTimer = null;
  if (ws) {
    const sock = ws;
    ws = null;
    wsLive = false;
    sock.onclose = null;
    sock.close(1000, "banned");
  }
  setConn("banned");
  render();
}

// ---------------------------------------------------------------- input

function press() {
  if (S.banned || !roundActive()) return;
  checkAdopted();
  dropStale();
  queue.press(currentRoundId());
  renderCounts();
  const button = $("big-button");
  button.classList.remove("pop");
  void button.offsetWidth; // restart the animation
  button.classList.add("pop");
}

function bindInput() {
  const button = $("big-button");
  // pointerdown counts a press at once (mouse, touch, pen); the click that follows is ignored,
  // and keyboard presses are counted by the keydown handler below, so nothing counts twice.
  button.addEventListener("pointerdown", (event) => {
    if (event.button === 0) press();
  });
  button.addEventListener("contextmenu", (event) => event.preventDefault());
  document.addEventListener("keydown", (event) => {
    if (event.key !== " " && event.key !== "Enter") return;
    const target = event.target;
    if (
      target instanceof Element &&
      target.closest("input, textarea, select, a, [contenteditable], button:not(#big-button)")
    ) {
      return; // typing a name or using another control
    }
    event.preventDefault();
    if (!event.repeat) press(); // holding a key down is not clicking
  });

  $("refresh").addEventListener("click", async () => {
    const button = $("refresh");
    button.disabled = true;
    try {
      if (await refresh()) resetPushBackoff();
      reconnectNow();
      pump();
    } finally {
      button.disabled = false;
    }
  });

  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => {
      S.scope = tab.dataset.scope;
      view.showLeaders(S.board, S.me, S.scope);
    });
  }

  const form = $("rename-form");
  $("rename").addEventListener("click", () => {
    form.hidden = false;
    $("rename-error").textContent = "";
    const input = $("name-input");
    input.value = (S.me && S.me.name) || "";
    input.focus();
    input.select();
  });
  $("rename-cancel").addEventListener("click", () => {
    form.hidden = true;
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = $("name-input").value.trim();
    if (!name || name.length > 24) {
      $("rename-error").textContent = "A name has 1 to 24 characters.";
      return;
    }
    let res;
    try {
      res = await api("PATCH", "/api/me", { name });
    } catch {
      $("rename-error").textContent = "The server cannot be reached; try again.";
      return;
    }
    if (!res.ok) {
      if (!handleAuthError(res)) $("rename-error").textContent = res.error.message;
      return;
    }
    applyMe(res.data.player || res.data);
    form.hidden = true;
    render();
  });

  // A closing tab seals what it has and marks its queue as closed, so the next page adopts it
  // at once; if a push may go now, it also tries to deliver the first batch on its way out.
  window.addEventListener("pagehide", () => {
    checkAdopted();
    const batch = queue.close();
    if (batch && canPush() && !inflight && nowMs() >= nextPushAt) {
      const body = { batch_id: batch.id, clicks: batch.clicks };
      api("POST", "/api/push_clicks", body, { keepalive: true }).catch(() => {});
    }
  });
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    queue.reopen();
    reconnectNow();
  });
  window.addEventListener("storage", (event) => {
    if (event.key === TOKEN_KEY && event.newValue && event.newValue !== S.token) {
      S.token = event.newValue; // another tab of this browser made the new session
    }
    // Another tab of this player just closed: take its queue over now, not at the next sweep.
    if (queue.isClosingTab(event.key, event.newValue) && S.settingsKnown) {
      adopt();
      pump();
    }
  });
  window.addEventListener("online", reconnectNow);
  window.addEventListener("offline", () => {
    if (!wsLive) setConn("offline");
  });
}

// ---------------------------------------------------------------- start

async function boot() {
  bindInput();
  queue.save(); // other tabs' queues are adopted once the settings are known (see pump)
  setConn("connecting");
  lastPollAt = nowMs(); // boot reads the snapshot itself
  setInterval(() => {
    renderRound();
    renderConn();
    watchSocket();
    pollWhileDown();
  }, 250);
  if (!S.token) await newSession();
  await refresh();
  render();
  startTicker();
  pump();
  connect();
}

boot();
