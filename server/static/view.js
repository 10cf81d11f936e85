// The game page's rendering: plain functions from data to the DOM, holding no game state.
// Names and other strings from the server only ever reach the page as text, never as HTML.
import { $, clock, el, fmt, plural, title } from "./dom.js";

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
  banned: () => "You are banned from this game. Your clicks no longer count.",
};

function planetColor(name) {
  if (PLANET_COLORS[name]) return PLANET_COLORS[name];
  let h = 0;
  for (const ch of String(name)) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

function setNumber(node, value) {
  node.dataset.value = String(value);
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

export function showMe(me) {
  if (!me) return;
  $("my-name").textContent = me.name;
  const tag = $("my-planet");
  tag.textContent = title(me.planet);
  tag.dataset.planet = me.planet;
  tag.style.setProperty("--planet", planetColor(me.planet));
  $("rank").textContent = me.rank ? `#${fmt(me.rank)}` : "–";
  $("round-rank").textContent = me.round_rank ? `#${fmt(me.round_rank)}` : "–";
}

function planetItem(p, round, me) {
  const target = round.target || 0;
  const mine = me && p.name === me.planet;
  const item = el("li", mine ? "planet mine" : "planet");
  item.dataset.planet = p.name;
  item.style.setProperty("--planet", planetColor(p.name));
  const name = el("span", "planet-name", title(p.name));
  if (mine) name.append(el("span", "you-tag", "your planet"));
  if (round.status === "finished" && round.winner === p.name) {
    name.append(el("span", "you-tag win-tag", "winner"));
  }
  const total = el("span", "total");
  setNumber(total, p.total);
  const figures = el("span", "figures");
  figures.append(total, el("span", "of", target ? ` / ${fmt(target)}` : ""));
  const head = el("div", "planet-head");
  head.append(name, figures);
  const bar = el("div", "bar");
  bar.setAttribute("role", "progressbar");
  bar.setAttribute("aria-label", `${title(p.name)} progress`);
  bar.setAttribute("aria-valuemin", "0");
  bar.setAttribute("aria-valuemax", String(target));
  bar.setAttribute("aria-valuenow", String(p.total));
  const fill = el("div", "fill");
  const share = target ? Math.min(100, (p.total / target) * 100) : 0;
  fill.style.width = `${p.total > 0 ? Math.max(share, 1) : 0}%`; // a first click shows
  bar.append(fill);
  item.append(head, bar, el("div", "planet-meta muted", plural(p.players, "player")));
  return item;
}

// The race toward the target: one bar per planet of the round.
export function showRace(board, me) {
  if (!board) return;
  const round = board.round || {};
  $("target").textContent = round.target ? fmt(round.target) : "–";
  const inRound = new Set(round.planets || []);
  const planets = board.planets.filter((p) => !inRound.size || inRound.has(p.name));
  $("planets").replaceChildren(...planets.map((p) => planetItem(p, round, me)));
}

export function showLeaders(board, me, scope) {
  if (!board) return;
  const entries = ((board.leaderboard && board.leaderboard[scope]) || []).slice(0, 10);
  const list = $("leaderboard");
  list.replaceChildren(
    ...entries.map((e) => {
      const mine = me && e.id === me.id;
      const item = el("li", mine ? "is-me" : "");
      item.dataset.id = e.id;
      const dot = el("span", "dot-planet");
      dot.style.setProperty("--planet", planetColor(e.planet));
      dot.title = title(e.planet);
      const name = el("span", "lb-name", e.name);
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
// whether the button may be pressed: how = {now, active, inRound, banned}.
export function showRound(board, me, how) {
  $("big-button").disabled = how.banned || !how.active;
  if (!board) return;
  const r = board.round || {};
  $("round-id").textContent = r.id ?? "–";
  const result = $("result");
  const countdown = (label, at) => {
    $("countdown-label").textContent = label;
    $("countdown").textContent = typeof at === "number" ? clock(at - how.now) : "–:––";
  };
  const say = (className, lines) => {
    result.hidden = false;
    result.className = className;
    result.replaceChildren(...lines);
  };
  delete result.dataset.winner;
  if (r.status === "active") {
    countdown("ends in", r.ends_at);
    if (how.inRound) result.hidden = true;
    else say("result waiting", [`${title(me.planet)} sits this round out: play the next one.`]);
    return;
  }
  countdown("next round in", r.next_round_at);
  if (r.status !== "finished") {
    say("result waiting", ["Waiting for the next round to start…"]);
    return;
  }
  const won = Boolean(me && r.winner === me.planet);
  const ended = HOW_IT_ENDED[r.reason] ? `: ${HOW_IT_ENDED[r.reason]}` : "";
  const headline = r.winner
    ? `${title(r.winner)} wins round ${r.id}${ended}.`
    : `Round ${r.id} ended in a draw${ended}.`;
  const lines = [el("div", "result-headline", headline)];
  if (r.winner && me) {
    lines.push(el("div", "result-sub", won ? "Your planet won!" : "Better luck next round."));
  }
  say(`result${r.winner ? "" : " draw"}${won ? " won" : ""}`, lines);
  result.dataset.winner = r.winner || "draw";
}

// The banner (connecting / reconnecting / offline / live / banned) and the header's figures.
export function showConnection(state, retryIn, board) {
  $("conn-banner").dataset.state = state;
  $("conn-text").textContent = CONNECTION_TEXT[state](retryIn);
  $("live-dot").dataset.state = state;
  if (board) {
    $("online").textContent = fmt(board.online);
    $("players-total").textContent = fmt(board.players_total);
  }
}

let noticeTimer = null;

export function notice(text, kind = "info") {
  const box = $("notice");
  box.textContent = text;
  box.dataset.kind = kind;
  box.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(clearNotice, 6000);
}

export function clearNotice() {
  $("notice").hidden = true;
}
