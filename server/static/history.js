// The last rounds' results (GET /api/rounds, SPEC §5): who won, by how much, how long it took,
// and how the player's planet did. Read at start and each time a round ends.
import { $, clock, el, fmt, title } from "./dom.js";
import { planetColor } from "./view.js";

export const SHOWN = 5;

// The newest finished rounds, or null when the server could not be asked.
export async function loadRounds(api) {
  try {
    const res = await api.call("GET", `/api/rounds?limit=${SHOWN}`, undefined, { auth: false });
    return res.ok && res.data ? res.data.rounds || [] : null;
  } catch {
    return null;
  }
}

function roundItem(r, me) {
  const item = el("li", "past");
  item.dataset.round = String(r.id);
  const head = el("div", "past-head");
  head.append(el("span", "past-id", `Round ${r.id}`));
  const outcome = el("span", "past-winner", r.winner ? `${title(r.winner)} won` : "Draw");
  if (r.winner) outcome.style.setProperty("--planet", planetColor(r.winner));
  head.append(outcome);
  if (me && (r.planets || []).includes(me.planet)) {
    const mine = r.winner === me.planet;
    const verdict = r.winner ? (mine ? "you won" : "you lost") : "you drew";
    head.append(el("span", mine ? "you-tag win-tag" : "you-tag", verdict));
  }
  const totals = Object.entries(r.totals || {}).sort((a, b) => b[1] - a[1]);
  const line = totals.map(([name, total]) => `${title(name)} ${fmt(total)}`).join(" · ");
  const took = typeof r.duration === "number" ? ` · ${clock(r.duration)}` : "";
  item.append(head, el("div", "past-line muted", line + took));
  return item;
}

export function showRounds(rounds, me) {
  if (!rounds) return;
  $("rounds").replaceChildren(...rounds.slice(0, SHOWN).map((r) => roundItem(r, me)));
  $("rounds").hidden = rounds.length === 0;
  $("rounds-empty").hidden = rounds.length > 0;
}
