// Click the Button: the game page (SPEC §9). Plain JavaScript modules, no build step.
//
// This module wires the parts together: the HTTP client (api.js), the click queue (queue.js)
// and its push scheduler (pusher.js), the WebSocket (socket.js), what the page knows of the
// game (state.js), its rendering (view.js) and its controls (input.js); around them, the
// player's ranks (rank.js), the planets' pace (pace.js), the feel of a click (feel.js),
// announcements for screen readers (announce.js), and the round's moments (moments.js: results,
// past rounds, sharing, sound).
import { Announcer } from "./announce.js";
import { ApiClient, TOKEN_KEY } from "./api.js";
import { $, fmt, plural } from "./dom.js";
import { Feel } from "./feel.js";
import { Moments } from "./moments.js";
import { bindInput } from "./input.js";
import { Pace } from "./pace.js";
import { PushScheduler } from "./pusher.js";
import { ClickQueue } from "./queue.js";
import { RankFollower, shownRank } from "./rank.js";
import { GameSocket } from "./socket.js";
import { GameState } from "./state.js";
import * as view from "./view.js";

const POLL_MS = 5000; // while the socket is down, /api/snapshot is read this often
const ME_AFTER_MS = 300; // a duplicate's answer carries old numbers: /api/me is read after this

const state = new GameState();
let scope = "round";
let connState = "connecting";
const feel = new Feel();
const pace = new Pace();
const announcer = new Announcer($("announcer"));
const ranks = new RankFollower({ ask: askMe });
let rates = {};

const api = new ApiClient({
  player: applyMe,
  offline: () => setConn("offline"),
  notice: (text) => view.notice(text),
  banned,
  renewed: () => socket.reconnectNow(),
});

const moments = new Moments({ api, state, feel, announcer, ranks: () => shownRanks() });

const queue = new ClickQueue(
  () => state.limits.maxCount,
  () => state.limits.maxCounts,
);

const socket = new GameSocket({
  api,
  on: {
    message: onMessage,
    waiting: () => {
      if (connState === "offline") setConn("offline");
      else setConn(socket.everLive ? "reconnecting" : "connecting");
    },
    offline: () => setConn("offline"),
    closed: () => pusher.socketClosed(),
    banned,
  },
});

const pusher = new PushScheduler({
  queue,
  settings: () => state.settings,
  canPush: () => !state.banned && Boolean(api.token) && state.settingsKnown && !api.renewing,
  round: () => state.currentRoundId,
  socket: { live: () => socket.live, send: (message) => socket.send(message) },
  http: (body) => api.call("POST", "/api/push_clicks", body),
  on: {
    ack: onAck,
    lost(via) {
      if (via === "ws") socket.check();
      else if (!socket.live) setConn("offline");
    },
    roundOver(dropped) {
      if (dropped) {
        view.notice(`The round is over: ${plural(dropped, "click")} came too late to count.`);
      }
      if (state.board && state.board.round && state.board.round.status === "active") refresh();
      render();
    },
    stale(dropped) {
      view.notice(`${plural(dropped, "click")} from an earlier round came too late to count.`);
      renderCounts();
    },
    adopted: renderCounts,
    refused(error) {
      view.notice(`Some clicks were refused: ${error.message}`, "warn");
      render();
    },
    banned,
    unauthorized: () => api.renewSession(),
  },
});

// ---------------------------------------------------------------- server state

function onAck(r) {
  if (r.duplicate) refreshMeSoon(); // a repeated answer carries the numbers of its first time
  else {
    state.applyAck(r);
    ranks.told();
  }
  if (r.throttled > 0) {
    view.notice(
      `Slow down: ${fmt(r.throttled)} click${r.throttled === 1 ? " was" : "s were"} over the ` +
        `limit of ${state.settings.max_cps} a second and did not count.`,
      "warn",
    );
  }
  render();
}

function applySnapshot(data) {
  if (state.applySnapshot(data)) view.clearNotice();
  if (data.settings) pusher.start(); // at the server's CLICK_PUSH_RATE
}

// A board message (SPEC §6): changes against the board it names. False when a board was missed:
// the page then asks for the whole state, and the snapshot that answers replaces it.
function applyBoard(message) {
  const newRound = state.applyBoardMessage(message);
  if (newRound === null) {
    socket.resync();
    return false;
  }
  if (newRound) view.clearNotice();
  ranks.moved(state.board, state.me);
  return true;
}

function applyMe(player) {
  if (state.applyMe(player)) banned();
}

// SPEC §6: what the server says over the socket, by type.
const HANDLERS = {
  snapshot(m, { first }) {
    if (first) pusher.resetBackoff();
    applySnapshot(m.data || {});
    if (m.data && m.data.me) applyMe(m.data.me);
    setConn("live");
    render();
    if (first) pusher.pump();
  },
  board(m) {
    if (applyBoard(m)) render(pace.update(state.board.planets, performance.now()));
  },
  ack(m) {
    pusher.result(m.batch_id, m);
  },
  round(m) {
    if (m.event === "started") refreshMeSoon();
    render();
  },
  error(m) {
    if (m.batch_id) pusher.refused(m.batch_id, m);
    else if (m.code === "banned") banned();
    else console.warn("server:", m.code, m.message);
  },
  pong() {},
};

function onMessage(message, how) {
  const handler = HANDLERS[message.type];
  if (handler) handler(message, how);
}

async function refresh() {
  let snap = null;
  let me = null;
  try {
    [snap, me] = await Promise.all([
      api.call("GET", "/api/snapshot", undefined, { auth: false }),
      api.call("GET", "/api/me"),
    ]);
  } catch {
    if (!socket.live) setConn("offline");
    return false;
  }
  if (snap.ok && snap.data) applySnapshot(snap.data);
  if (me.ok && me.data) applyMe(me.data.player || me.data);
  else api.handleAuthError(me);
  render();
  return snap.ok;
}

// The player as the server sees it now (rank.js asks this when the player is off the board).
async function askMe() {
  const res = await api.call("GET", "/api/me");
  if (res.ok && res.data) {
    applyMe(res.data.player || res.data);
    ranks.told();
    render();
  } else api.handleAuthError(res);
}

let meTimer = null;
function refreshMeSoon() {
  clearTimeout(meTimer);
  meTimer = setTimeout(() => askMe().catch(() => {}), ME_AFTER_MS); // else the next answer
}

// Without the socket the race still moves: the public snapshot is read every POLL_MS
// (a 304 when nothing changed), and pushes go over HTTP.
let snapshotTag = null;
let lastPollAt = 0;
let polling = false;

async function pollWhileDown() {
  if (socket.live || polling || state.banned || performance.now() - lastPollAt < POLL_MS) return;
  polling = true;
  lastPollAt = performance.now();
  try {
    const headers = snapshotTag ? { "If-None-Match": snapshotTag } : {};
    const res = await api.call("GET", "/api/snapshot", undefined, { auth: false, headers });
    if (res.ok && res.data && !socket.live) {
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

// ---------------------------------------------------------------- rendering (view.js)

// gained: the planets whose totals just grew (they pulse).
function render(gained = []) {
  renderCounts(gained);
  const shown = shownRanks();
  view.showMe(state.me, shown, state.board);
  view.showLeaders(state.board, state.me, scope);
  renderRound();
  if (shown && state.me) {
    const round = shown.round ? `round rank ${shown.round}` : "no round rank yet";
    const all = shown.all ? `, all-time rank ${shown.all}` : "";
    announcer.figures(`Your score this round: ${fmt(state.me.round_score || 0)}, ${round}${all}.`);
  }
}

// The counts and the race: on every press too, so the player's planet moves with its clicks.
function renderCounts(gained = []) {
  view.showCounts(state.me, queue.pending);
  view.showRace(state.board, state.me, { pending: queue.pending, rates, gained });
}

// The ranks to show, or null while the socket is down: a live figure is unknown then, not old.
function shownRanks() {
  if (connState !== "live" || !state.me) return null;
  return { round: shownRank(state.board, state.me, "round"), all: shownRank(state.board, state.me, "all") };
}

function renderRound() {
  moments.round();
  view.showRound(state.board, state.me, {
    now: api.serverNow(),
    active: state.roundActive(api.serverNow()),
    inRound: state.inThisRound(),
    banned: state.banned,
  });
}

function setConn(next) {
  const wasLive = connState === "live";
  connState = next;
  renderConn();
  if (wasLive !== (next === "live")) render(); // live figures become unknown, or known again
}

function renderConn() {
  view.showConnection(connState, socket.retryIn(), state.board);
}

function banned() {
  if (state.banned) return;
  state.banned = true;
  pusher.stop();
  socket.stop();
  setConn("banned");
  render();
}

// ---------------------------------------------------------------- input and the page's life

// point: where the button was pressed ({x, y} in the page), or null for a key.
function press(point) {
  if (state.banned || !state.roundActive(api.serverNow())) return false;
  pusher.checkAdopted();
  pusher.dropStale();
  queue.press(state.currentRoundId);
  renderCounts();
  feel.press(point);
  return true;
}

async function rename(name) {
  let res;
  try {
    res = await api.call("PATCH", "/api/me", { name });
  } catch {
    return "The server cannot be reached; try again.";
  }
  if (!res.ok) return api.handleAuthError(res) ? "" : res.error.message;
  applyMe(res.data.player || res.data);
  render();
  return null;
}

function bindPage() {
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
    if (queue.isClosingTab(event.key, event.newValue) && state.settingsKnown) {
      pusher.adopt();
      pusher.pump();
    }
  });
  window.addEventListener("online", () => socket.reconnectNow());
  window.addEventListener("offline", () => {
    if (!socket.live) setConn("offline");
  });
}

// Every 250 ms: the planets' pace (a quiet planet's rate falls back to 0) and the click meter.
function tick() {
  const now = performance.now();
  feel.showCps(now);
  if (!state.board) return;
  pace.update(state.board.planets, now);
  const next = {};
  for (const p of state.board.planets) next[p.name] = pace.rate(p.name, now);
  rates = next;
  renderCounts();
}

async function boot() {
  bindInput({
    press,
    refresh: async () => {
      if (await refresh()) pusher.resetBackoff();
      socket.reconnectNow();
      pusher.pump();
    },
    scope: (name) => {
      scope = name;
      view.showLeaders(state.board, state.me, scope);
    },
    currentName: () => (state.me && state.me.name) || "",
    rename,
  });
  bindPage();
  moments.bind();
  queue.save(); // other tabs' queues are adopted once the settings are known (see pusher.pump)
  setConn("connecting");
  lastPollAt = performance.now(); // boot reads the snapshot itself
  setInterval(() => {
    renderRound();
    renderConn();
    tick();
    socket.watch();
    pollWhileDown();
  }, 250);
  if (!api.token) await api.newSession();
  await refresh();
  render();
  pusher.start();
  pusher.pump();
  socket.connect();
}

boot();
