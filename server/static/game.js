// Click the Button: the game page (SPEC §9). Plain JavaScript modules, no build step.
//
// This module wires the parts together: the HTTP client (api.js), the click queue (queue.js)
// and its push scheduler (pusher.js), the WebSocket (socket.js), what the page knows of the
// game (state.js), its rendering (view.js) and its controls (input.js); around them, the
// player's ranks (rank.js), the planets' pace (pace.js), the feel of a click (feel.js),
// announcements for screen readers (announce.js), the round's moments (moments.js: results,
// past rounds, sharing, sound) and, while banned, the wait for an unban (unban.js).
import { Announcer } from "./announce.js";
import { ApiClient } from "./api.js";
import { $, fmt, plural } from "./dom.js";
import { Feel } from "./feel.js";
import { Moments } from "./moments.js";
import { bindInput } from "./input.js";
import { SnapshotPoll, bindPageLife } from "./life.js";
import { Pace } from "./pace.js";
import { PushScheduler } from "./pusher.js";
import { ClickQueue } from "./queue.js";
import { RankFollower, shownRank } from "./rank.js";
import { GameSocket } from "./socket.js";
import { GameState } from "./state.js";
import { UnbanWait } from "./unban.js";
import * as view from "./view.js";

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
  canPush: () =>
    !state.banned && !state.paused && Boolean(api.token) && state.settingsKnown && !api.renewing,
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

const unbanWait = new UnbanWait({ api, banned: () => state.banned, player: applyMe });

const poll = new SnapshotPoll({
  api,
  idle: () => socket.live || state.banned,
  apply(data) {
    applySnapshot(data);
    render();
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
  const wasPaused = state.paused;
  if (state.applySnapshot(data)) view.clearNotice();
  if (data.settings) pusher.start(); // at the server's CLICK_PUSH_RATE
  followPause(wasPaused);
}

// The resume (SPEC §8): the batches held while the game was paused go at once.
function followPause(wasPaused) {
  if (!wasPaused || state.paused) return;
  pusher.resetBackoff();
  pusher.pump();
}

// A board message (SPEC §6): changes against the board it names. False when a board was missed:
// the page then asks for the whole state, and the snapshot that answers replaces it.
function applyBoard(message) {
  const wasPaused = state.paused;
  const newRound = state.applyBoardMessage(message);
  if (newRound === null) {
    socket.resync();
    return false;
  }
  if (newRound) view.clearNotice();
  ranks.moved(state.board, state.me);
  followPause(wasPaused);
  return true;
}

// The player as the server sent it (a snapshot, /api/me, or ``me`` after an admin's change).
function applyMe(player) {
  if (state.applyMe(player)) banned();
  else if (state.banned) unbanned();
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
  // An admin changed this player: a new name, planet or scores, or a ban.
  me(m) {
    applyMe(m.data);
    render();
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

// ---------------------------------------------------------------- rendering (view.js)

// gained: the planets whose totals just grew (they pulse).
function render(gained = []) {
  renderConn();
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
  const now = api.serverNow();
  view.showRound(state.board, state.me, {
    now: state.clockAt(now),
    active: state.roundActive(now),
    inRound: state.inThisRound(),
    banned: state.banned,
    paused: state.paused,
  });
}

function setConn(next) {
  const wasLive = connState === "live";
  connState = next;
  renderConn();
  if (wasLive !== (next === "live")) render(); // live figures become unknown, or known again
}

function renderConn() {
  view.showConnection(connState, socket.retryIn(), state.board, state.me);
}

function banned() {
  if (state.banned) return renderConn(); // a new reason or end of the ban shown
  state.banned = true;
  pusher.stop();
  socket.stop();
  setConn("banned");
  render();
  unbanWait.start();
  // Told by the socket alone: the player object says why, and until when.
  if (!state.me || state.me.status !== "banned") askMe().catch(() => {});
}

// An admin lifted the ban: the button works again at once, over HTTP until the socket is back.
function unbanned() {
  state.banned = false;
  setConn("connecting");
  pusher.restart();
  socket.restart();
  view.notice("Your ban has been lifted: your clicks count again.");
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
  const settingsKnown = () => state.settingsKnown;
  const offline = () => {
    if (!socket.live) setConn("offline");
  };
  bindPageLife({ api, queue, pusher, socket, settingsKnown, offline });
  moments.bind();
  view.placeToasts();
  window.addEventListener("scroll", view.placeToasts, { passive: true });
  window.addEventListener("resize", view.placeToasts);
  queue.save(); // other tabs' queues are adopted once the settings are known (see pusher.pump)
  setConn("connecting");
  poll.wait(); // boot reads the snapshot itself
  setInterval(() => {
    renderRound();
    renderConn();
    tick();
    socket.watch();
    poll.poll();
  }, 250);
  if (!api.token) await api.newSession();
  await refresh();
  render();
  pusher.start();
  pusher.pump();
  socket.connect();
}

boot();
