// The game page's rendering: plain functions from data to the DOM, holding no game state.
// Names and other strings from the server only ever reach the page as text, never as HTML.
import { $, clock, el, fmt, plural, title } from "./dom.js";
import { isMe } from "./rank.js";

const PLANET_COLORS = {
  earth: "#3b82f6",
  mars: "#ef4444",
  venus: "#f59e0b",
  mercury: "#a8a29e",
  jupiter: "#d97706",
  saturn: "#eab308",
  uranus: "#22d3ee",
  neptune: "#6366f1",
  pluto: "#c084fc",
};
const TOAST_GAP = 6; // px between the round line (or the screen's top) and the banners
const PALETTE = ["#10b981", "#ec4899", "#8b5cf6", "#14b8a6", "#f97316", "#84cc16", "#06b6d4"];
const HOW_IT_ENDED = {
  target: "it reached the target first",
  time: "time ran out",
  admin: "an admin ended the round",
};
const CONNECTION_TEXT = {
  connecting: () => "Connecting…",
  reconnecting: (retryIn) =>
    `Connection lost — reconnecting${retryIn ? ` in ${retryIn} s` : "…"}`,
  offline: (retryIn) =>
    "Offline — the server cannot be reached. Your clicks are kept and sent when it is back" +
    (retryIn ? ` (retrying in ${retryIn} s).` : "."),
  live: () => "Live",
  paused: (retryIn, reason) =>
    `Paused by an admin${reason ? `: ${reason}` : ""}. The round clock is stopped; clicks ` +
    "not sent yet count when play resumes.",
  banned: (retryIn, pauseReason, me) => bannedText(me || {}),
};

// SPEC §8: the banned player is told why and, for a timed ban, when it ends.
function bannedText({ ban_reason: reason, banned_until: until }) {
  const why = reason ? ` Reason: ${reason}.` : "";
  const end = until
    ? `The ban ends ${new Date(until * 1000).toLocaleString()}; the button comes back by itself then.`
    : "If an admin lifts the ban, the button comes back by itself.";
  return `You are banned from this game: your clicks no longer count.${why} ${end}`;
}

export function planetColor(name) {
  if (PLANET_COLORS[name]) return PLANET_COLORS[name];
  let h = 0;
  for (const ch of String(name)) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

function setNumber(node, value) {
  const text = String(value);
  if (node.dataset.value === text && node.textContent !== "") return;
  node.dataset.value = text;
  node.textContent = fmt(value);
}

// The local count: the server's numbers plus the clicks not confirmed yet, so a click shows at
// once and a throttled one disappears when the server's answer comes (SPEC §9).
export function showCounts(me, pending) {
  const known = me || {};
  setNumber($("count"), (known.round_score || 0) + pending);
  setNumber($("pending"), pending);
  const line = $("pending-line");
  line.dataset.value = String(pending);
  line.classList.toggle("idle", pending === 0);
  if (me) {
    setNumber($("round-score"), (me.round_score || 0) + pending);
    setNumber($("score"), (me.score || 0) + pending);
  }
}

// ranks: {round, all} as rank.js shows them, or null while they cannot be known (offline).
export function showMe(me, ranks, board) {
  if (!me) return;
  $("my-name").textContent = me.name;
  const tag = $("my-planet");
  tag.textContent = title(me.planet);
  tag.dataset.planet = me.planet;
  tag.style.setProperty("--planet", planetColor(me.planet));
  $("how-planet").textContent = title(me.planet);
  const rankText = (n) => (ranks ? (n ? `#${fmt(n)}` : "–") : "?");
  for (const [id, n] of [["rank", ranks && ranks.all], ["round-rank", ranks && ranks.round]]) {
    const node = $(id);
    node.textContent = rankText(n);
    node.title = ranks ? "" : "Unknown until the connection is back";
  }
  const planet = board && board.planets.find((p) => p.name === me.planet);
  const others = planet ? Math.max(0, (planet.players || 1) - 1) : null;
  const team = others === null ? "" : others ? ` with ${plural(others, "other player")}` : "";
  $("team-why").textContent =
    `You play for ${title(me.planet)}${team}. New players join the planet with the fewest ` +
    "players, so the teams stay even; you keep your planet from round to round.";
}

function planetItem(name) {
  const item = el("li", "planet");
  item.dataset.planet = name;
  item.style.setProperty("--planet", planetColor(name));
  const label = el("span", "planet-name", title(name));
  const tags = el("span", "planet-tags");
  const total = el("span", "total");
  const figures = el("span", "figures");
  figures.append(total, el("span", "of"));
  const head = el("div", "planet-head");
  head.append(label, tags, figures);
  const bar = el("div", "bar");
  bar.setAttribute("role", "progressbar");
  bar.setAttribute("aria-label", `${title(name)} progress`);
  bar.setAttribute("aria-valuemin", "0");
  bar.append(el("div", "fill"));
  item.append(head, bar, el("div", "planet-meta"));
  return item;
}

// The race toward the target: one bar per planet of the round, updated in place so the bars
// glide. live = {pending, rates: name → clicks/s, gained: [names]}: the player's own planet
// counts the player's unconfirmed clicks at once (the server's total replaces it on its answer).
export function showRace(board, me, live = {}) {
  if (!board) return;
  const round = board.round || {};
  const target = round.target || 0;
  $("target").textContent = target ? fmt(target) : "–";
  $("how-target").textContent = target ? fmt(target) : "the target";
  const inRound = new Set(round.planets || []);
  const planets = board.planets.filter((p) => !inRound.size || inRound.has(p.name));
  const list = $("planets");
  const items = new Map([...list.children].map((node) => [node.dataset.planet, node]));
  const wanted = planets.map((p) => items.get(p.name) || planetItem(p.name));
  if (wanted.some((node, i) => list.children[i] !== node) || list.children.length !== wanted.length) {
    list.replaceChildren(...wanted);
  }
  planets.forEach((p, i) => {
    const item = wanted[i];
    const mine = Boolean(me && p.name === me.planet);
    const value = p.total + (mine && round.status === "active" ? live.pending || 0 : 0);
    item.classList.toggle("mine", mine);
    const tags = [];
    if (mine) tags.push(el("span", "you-tag", "your planet"));
    if (round.status === "finished" && round.winner === p.name) {
      tags.push(el("span", "you-tag win-tag", "winner"));
    }
    const holder = item.querySelector(".planet-tags");
    if (holder.textContent !== tags.map((t) => t.textContent).join("")) holder.replaceChildren(...tags);
    setNumber(item.querySelector(".total"), value);
    item.querySelector(".of").textContent = target ? ` / ${fmt(target)}` : "";
    const bar = item.querySelector(".bar");
    bar.setAttribute("aria-valuemax", String(target));
    bar.setAttribute("aria-valuenow", String(Math.min(value, target || value)));
    const share = target ? Math.min(100, (value / target) * 100) : 0;
    // scaleX moves on the compositor: no layout per click. A first click shows.
    bar.firstChild.style.setProperty("transform", `scaleX(${value > 0 ? Math.max(share, 1) / 100 : 0})`);
    const rate = (live.rates && live.rates[p.name]) || 0;
    const meta = `${plural(p.players, "player")}${rate ? ` · ${plural(rate, "click")}/s` : ""}`;
    const metaNode = item.querySelector(".planet-meta");
    if (metaNode.textContent !== meta) metaNode.textContent = meta;
    if (live.gained && live.gained.includes(p.name)) pulse(item);
  });
}

// A planet gained: its bar glows for a moment (none with reduced motion, see game.css).
function pulse(item) {
  item.classList.remove("gain");
  void item.offsetWidth; // restart the animation
  item.classList.add("gain");
}

export function showLeaders(board, me, scope) {
  if (!board) return;
  const entries = ((board.leaderboard && board.leaderboard[scope]) || []).slice(0, 10);
  const list = $("leaderboard");
  list.replaceChildren(
    ...entries.map((e) => {
      const mine = me && isMe(e, me);
      const item = el("li", mine ? "is-me" : "");
      item.dataset.key = e.key;
      const dot = el("span", "dot-planet");
      dot.style.setProperty("--planet", planetColor(e.planet));
      dot.title = title(e.planet);
      const name = el("span", "lb-name");
      name.append(el("span", "lb-text", e.name));
      if (mine) name.append(el("span", "you-tag", "you"));
      const rank = el("span", "lb-rank", `${e.rank}`);
      item.append(rank, dot, name, el("span", "lb-score", fmt(e.score)));
      return item;
    }),
  );
  list.hidden = entries.length === 0;
  $("leaderboard-empty").hidden = entries.length > 0;
  for (const tab of document.querySelectorAll(".tab")) {
    tab.setAttribute("aria-pressed", String(tab.dataset.scope === scope));
  }
}

// The round line, its countdown (board times are Unix seconds), the result at its end, and
// whether the button may be pressed: how = {now, active, inRound, banned, paused}; while the
// game is paused ``now`` is when it stopped, so the countdown stands still.
export function showRound(board, me, how) {
  const button = $("big-button");
  button.disabled = how.banned || !how.active;
  button.dataset.paused = String(Boolean(how.paused) && !how.banned);
  if (!board) return;
  const r = board.round || {};
  $("round-id").textContent = r.id ?? "–";
  $("countdown").parentElement.dataset.paused = String(Boolean(how.paused));
  const countdown = (label, at) => {
    $("countdown-label").textContent = how.paused ? "paused at" : label;
    $("countdown").textContent = typeof at === "number" ? clock(at - how.now) : "–:––";
  };
  if (r.status === "active") {
    countdown("ends in", r.ends_at);
    if (how.inRound) showResult(null);
    else showResult("waiting", `${title(me.planet)} sits this round out: play the next one.`);
    return;
  }
  countdown("next round in", r.next_round_at);
  if (r.status !== "finished") {
    showResult("waiting", "Waiting for the next round to start…");
    return;
  }
  const won = Boolean(me && r.winner === me.planet);
  const sub = r.winner && me ? (won ? "Your planet won!" : "Better luck next round.") : "";
  showResult(`${r.winner ? "" : "draw"}${won ? " won" : ""}`, resultText(r), sub, r.winner);
}

// The result's headline: "Mars wins round 3: it reached the target first."
export function resultText(r) {
  const ended = HOW_IT_ENDED[r.reason] ? `: ${HOW_IT_ENDED[r.reason]}` : "";
  return r.winner
    ? `${title(r.winner)} wins round ${r.id}${ended}.`
    : `Round ${r.id} ended in a draw${ended}.`;
}

// The slot above the button holds either how to play (kind null) or the result; both take the
// same reserved space, so the button never moves.
function showResult(kind, headline = "", sub = "", winner = null) {
  const result = $("result");
  $("how-to").hidden = kind !== null;
  result.hidden = kind === null;
  if (kind === null) return;
  const className = `result ${kind}`.trim();
  if (result.className !== className) result.className = className;
  if ($("result-headline").textContent !== headline) $("result-headline").textContent = headline;
  if ($("result-sub").textContent !== sub) $("result-sub").textContent = sub;
  $("share-result").hidden = kind === "waiting";
  if (winner) {
    result.dataset.winner = winner;
    result.style.setProperty("--planet", planetColor(winner));
  } else if (kind === "waiting") delete result.dataset.winner;
  else result.dataset.winner = "draw";
}

// The banner (connecting / reconnecting / offline / live / banned, and paused while live) and
// the header's figures. The online count is a live figure: unknown while the socket is down,
// and at least this page once it is up (a snapshot taken as the socket opened may not count it).
export function showConnection(state, retryIn, board, me) {
  const shown = state === "live" && board && board.paused ? "paused" : state;
  const banner = $("conn-banner");
  if (banner.dataset.state !== shown) {
    banner.dataset.state = shown;
    placeToasts();
  }
  const text = CONNECTION_TEXT[shown](retryIn, board && board.pause_reason, me);
  if ($("conn-text").textContent !== text) $("conn-text").textContent = text;
  $("live-dot").dataset.state = state;
  const live = state === "live";
  $("online").textContent = live && board ? fmt(Math.max(1, board.online || 0)) : "–";
  $("online").title = live ? "" : "Unknown until the connection is back";
  if (board) $("players-total").textContent = fmt(board.players_total);
}

let noticeTimer = null;

export function notice(text, kind = "info") {
  const box = $("notice");
  box.textContent = text;
  box.dataset.kind = kind;
  box.hidden = false;
  placeToasts();
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(clearNotice, 6000);
}

// The banner and the notices float over the slot above the button (how to play, or the
// result): never over the header's figures or the round clock, at any width. Once the round
// line has scrolled away they keep to the top of the screen. The button never moves for them.
export function placeToasts() {
  const box = $("toasts");
  const head = document.querySelector(".round-head").getBoundingClientRect();
  box.style.setProperty("top", `${Math.max(TOAST_GAP, head.bottom + TOAST_GAP)}px`);
  box.style.setProperty("left", `${head.left}px`);
  box.style.setProperty("width", `${head.width}px`);
  box.dataset.placed = "true";
}

export function clearNotice() {
  $("notice").hidden = true;
}
