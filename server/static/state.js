// What the game page knows of the game: the settings, the board (round, planets, leaderboards,
// online) and the player, updated from the server's snapshots, boards and acks. No DOM, no I/O.
import { MAX_COUNTS } from "./queue.js";

export const DEFAULT_SETTINGS = {
  click_push_rate: 1.0,
  max_cps: 20,
  burst_seconds: 10,
  broadcast_interval: 0.25,
};

// What one push may carry (SPEC §4): the largest count and the most counts. The snapshot's
// settings say so when the server sends max_count and max_counts_per_push; an older server
// that does not is read with the SPEC's rule (MAX_CPS × CLICK_PUSH_RATE × 10, and 32).
export function pushLimits(settings) {
  const given = (value) => Number.isInteger(value) && value > 0;
  const maxCount = given(settings.max_count)
    ? settings.max_count
    : Math.max(1, Math.floor(settings.max_cps * settings.click_push_rate * 10 + 1e-9));
  const maxCounts = given(settings.max_counts_per_push) ? settings.max_counts_per_push : MAX_COUNTS;
  return { maxCount, maxCounts };
}

const SCOPES = ["round", "all"];
const PLAIN = ["round", "online", "players_total", "paused", "pause_reason", "paused_at"];

// A board message's changes (SPEC §6) applied to the whole board they build on: every planet's
// total comes each time; the round and the other plain parts when they changed; a leaderboard
// row is its player's board key (``me.key`` for the player's own), introduced once with name and
// planet (``players``), then ``top`` (the keys in rank order, when it moved) and ``scores``
// ([key, score], when one moved); ``all: "round"`` means the round's changes apply to both. The
// rows come out without ``id``. Returns a new board; ``board`` is not changed.
// server/board_changes.py is the reference.
export function applyChanges(board, data) {
  const next = { ...board, planets: data.planets || board.planets };
  for (const name of PLAIN) if (name in data) next[name] = data[name];
  const held = board.leaderboard || {};
  const players = new Map();
  for (const scope of SCOPES) for (const row of held[scope] || []) players.set(row.key, row);
  for (const [key, name, planet] of data.players || []) players.set(key, { name, planet });
  const changes = data.leaderboard || {};
  next.leaderboard = {};
  for (const scope of SCOPES) {
    const rows = held[scope] || [];
    const given = changes[scope] || {};
    const change = given === "round" ? changes.round : given;
    const scores = new Map(rows.map((row) => [row.key, row.score]));
    for (const [key, score] of change.scores || []) scores.set(key, score);
    const order = change.top || rows.map((row) => row.key);
    next.leaderboard[scope] = order.map((key, i) => {
      const p = players.get(key) || {};
      return { rank: i + 1, name: p.name, planet: p.planet, score: scores.get(key), key };
    });
  }
  return next;
}

export class GameState {
  constructor() {
    this.settings = { ...DEFAULT_SETTINGS };
    this.settingsKnown = false;
    this.me = null;
    this.board = null;
    this.version = null; // the board's version, which the next board's changes must build on
    this.roundId = undefined;
    this.banned = false;
  }

  get limits() {
    return pushLimits(this.settings);
  }

  get currentRoundId() {
    return this.board && this.board.round ? this.board.round.id : null;
  }

  // An admin's emergency stop (SPEC §8): no push goes, the button waits, the clock stands.
  get paused() {
    return Boolean(this.board && this.board.paused);
  }

  // The time the round's clock shows at ``now`` (server seconds): while paused it stands where
  // the server's stopped (``paused_at``), and after the resume the round's end has moved on by
  // the pause, so the countdown goes on from the same figure.
  clockAt(now) {
    const at = this.board && this.board.paused_at;
    return this.paused && typeof at === "number" ? at : now;
  }

  // A snapshot (over the socket or from /api/snapshot). Returns what applyBoard returns.
  applySnapshot(data) {
    if (data.settings) {
      this.settings = { ...DEFAULT_SETTINGS, ...data.settings };
      this.settingsKnown = true;
    }
    const newRound = this.applyBoard(data);
    this.version = typeof data.version === "number" ? data.version : null;
    return newRound;
  }

  // A ``board`` message. Returns null when it builds on a board this page does not hold (one
  // was missed, or a snapshot came from elsewhere): the caller asks for ``resync``. Otherwise
  // what applyBoard returns.
  applyBoardMessage(m) {
    if (!this.board || this.version === null || m.base !== this.version) return null;
    const newRound = this.applyBoard(applyChanges(this.board, m.data || {}));
    this.version = m.v;
    return newRound;
  }

  // A board: the parts it carries replace ours. Returns true when it starts another round.
  applyBoard(data) {
    if (!data.round && !data.planets) return false;
    const old = this.board;
    const round = data.round || (old && old.round) || {};
    const newRound = this.roundId !== undefined && round.id !== this.roundId && this.me !== null;
    if (newRound) {
      // A new round: the round score starts again (the server resets it lazily, SPEC §3).
      this.me.round_score = 0;
      this.me.round_rank = null;
    }
    this.roundId = round.id;
    this.board = {
      round,
      planets: data.planets || (old && old.planets) || [],
      leaderboard: data.leaderboard || (old && old.leaderboard) || { round: [], all: [] },
      online: data.online ?? (old && old.online),
      players_total: data.players_total ?? (old && old.players_total),
      paused: data.paused ?? (old && old.paused),
      pause_reason: data.pause_reason !== undefined ? data.pause_reason : old && old.pause_reason,
      paused_at: data.paused_at !== undefined ? data.paused_at : old && old.paused_at,
    };
    return newRound;
  }

  // The player as the server sent it. Returns true when the player is banned.
  applyMe(player) {
    if (!player || typeof player !== "object") return false;
    this.me = { ...player };
    return player.status === "banned";
  }

  // The numbers of a push's answer (an ack, or the HTTP reply).
  applyAck(r) {
    if (!this.me) return;
    this.me.score = r.score;
    this.me.round_score = r.round_score;
    this.me.rank = r.rank;
    this.me.round_rank = r.round_rank;
    if (!this.board || typeof r.planet_total !== "number") return;
    for (const p of this.board.planets) {
      if (p.name === this.me.planet && r.planet_total > p.total) p.total = r.planet_total;
    }
  }

  // May the button be pressed at ``now`` (server seconds)?
  roundActive(now) {
    const r = this.board && this.board.round;
    if (!r || r.status !== "active" || this.paused || !this.inThisRound()) return false;
    return !(typeof r.ends_at === "number" && now >= r.ends_at);
  }

  // An admin may queue a round without some planets (SPEC §3); their players sit it out.
  inThisRound() {
    const planets = this.board && this.board.round && this.board.round.planets;
    return !this.me || !planets || !planets.length || planets.includes(this.me.planet);
  }
}
