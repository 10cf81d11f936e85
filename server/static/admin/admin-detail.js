// One player's detail on the admin page (GET /api/admin/players/{id}) and what can be done to
// them: ban (for a while or without end, optionally revoking this round's clicks), unban, reset
// score, kick, flag for review, and edit (PATCH). Each asks for a reason and a confirmation.
//
// The detail is a panel beside the list on a wide screen and a sheet over it on a phone
// (admin-panel.css), with its actions at the top, so Ban and Reset are in view without
// scrolling; opening it moves focus to its title, and Escape or Close shuts it and gives focus
// back to what opened it.
import { $, el, fmt, title } from "../dom.js";
import { errorText } from "./admin-api.js";
import { announce, perform } from "./admin-dialog.js";
import { names, shortId } from "./admin-names.js";
import { BAN_LENGTHS, CASE_KINDS, changeLines, dateTime, evidencePairs, eventWords } from "./admin-words.js";
import { when } from "./admin-players.js";

const ACTIONS = {
  ban: { title: "Ban the player", label: "Ban", revoke: false, duration: true },
  unban: { title: "Unban the player", label: "Unban", danger: false },
  reset_score: { title: "Reset the player's score", label: "Reset score" },
  kick: { title: "Kick the player", label: "Kick", danger: false },
  flag: { title: "Flag the player for review", label: "Flag", danger: false },
};

export class PlayerDetail {
  // hooks: changed() something about a player changed (reload the lists); shown(id) the
  // player shown, or null when the panel closed.
  constructor(api, hooks) {
    this.api = api;
    this.hooks = hooks;
    this.data = null;
    this.opener = null;
    $("detail-close").addEventListener("click", () => this.close());
    for (const button of $("detail-actions").querySelectorAll("button[data-action]")) {
      button.addEventListener("click", () => this.act(button.dataset.action));
    }
    $("edit-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.edit();
    });
    document.addEventListener("keydown", (event) => {
      // The confirmation dialog takes its own Escape (it cancels the dialog, not the panel).
      if (event.key !== "Escape" || !this.data || event.defaultPrevented || $("confirm-dialog").open) return;
      event.preventDefault();
      this.close();
    });
    // Only the title: drawing the whole detail again would undo an edit being typed.
    names.onChange(() => {
      if (this.data) $("detail-title").textContent = names.label(this.data.player.id, this.data.player.name);
    });
  }

  setPlanets(names) {
    $("edit-planet").replaceChildren(...names.map((name) => option(name, title(name))));
  }

  async open(id, focus = true) {
    if (focus) this.opener = document.activeElement;
    const res = await this.api.get(`/api/admin/players/${encodeURIComponent(id)}`);
    if (!res.ok) {
      announce(`The player could not be read: ${errorText(res)}`, "error");
      return;
    }
    this.data = res.data;
    const p = res.data.player;
    names.learn([[p.id, p.name]]);
    this.render();
    $("detail-card").hidden = false;
    document.documentElement.classList.add("detail-open");
    this.hooks.shown(p.id);
    if (focus) $("detail-title").focus();
  }

  // Shut the panel; focus goes back to what opened it (or that player's row), unless the
  // page is signing out.
  close(refocus = true) {
    const id = this.data && this.data.player.id;
    this.data = null;
    $("detail-card").hidden = true;
    document.documentElement.classList.remove("detail-open");
    this.hooks.shown(null);
    if (!refocus || !id) return;
    const row = document.querySelector(`#player-rows tr[data-player="${CSS.escape(id)}"] button.link`);
    const back = this.opener && this.opener.isConnected ? this.opener : row || $("f-search");
    this.opener = null;
    back.focus();
  }

  refresh() {
    if (this.data) this.open(this.data.player.id, false);
  }

  render() {
    const d = this.data;
    const p = d.player;
    const banned = p.status === "banned";
    $("detail-card").dataset.player = p.id;
    $("detail-title").textContent = names.label(p.id, p.name);
    $("detail-summary").textContent = summary(d);
    const facts = [
      ["Name", p.name],
      ["Id", p.id],
      ["Planet", title(p.planet)],
      ["Status", title(p.status)],
    ];
    const until = bannedUntil(d);
    if (banned && until !== undefined) {
      facts.push(["Banned until", until === null ? "no end (until unbanned)" : dateTime(until)]);
    }
    if (banned && d.ban_reason) facts.push(["Ban reason", d.ban_reason]);
    facts.push(
      ["Score", fmt(p.score)],
      ["Rank", fmt(p.rank)],
      ["Round score", fmt(d.round_score)],
      ["Round rank", p.round_rank === null ? "–" : fmt(p.round_rank)],
      ["Created", when(p.created_at)],
      ["Last click", when(p.last_click_at)],
      ["Times over the click limit", fmt(d.violations)],
      ["Clicks it may send now", fmt(d.tokens)],
      ["Flagged", d.flagged ? "yes" : "no"],
    );
    const list = el("dl", "facts");
    for (const [term, value] of facts) {
      const box = el("div");
      box.dataset.fact = term;
      box.append(el("dt", "", term), el("dd", "", value));
      list.append(box);
    }
    const parts = [list];
    if (Array.isArray(d.names)) {
      parts.push(
        section(
          "Names, newest first",
          d.names
            .slice()
            .reverse()
            .map((n) => `${n.name} · ${n.by === "player" ? "chosen by the player" : `set by ${n.by}`}, ${dateTime(n.at)}`),
        ),
      );
    }
    parts.push(section("How it pushes (the current window)", pushLines(d.push_stats)));
    const batches = Object.entries(d.round_batches || {});
    parts.push(
      section(
        `Batches of round ${d.round_id ?? "–"}`,
        batches.map(([planet, counts]) => `${title(planet)}: ${fmt(counts.length)} batches, ${fmt(sum(counts))} clicks`),
      ),
    );
    parts.push(
      section(
        "Past rounds",
        (d.rounds || []).map((r) => `Round ${r.round}: ${fmt(r.total)} clicks, won by ${title(r.winner)}`),
      ),
    );
    parts.push(
      section(
        "Cases",
        (d.interventions || []).map(
          (c) => `#${c.id} ${CASE_KINDS[c.kind] || c.kind}, ${c.status}${c.resolution ? ` (${c.resolution})` : ""}`,
        ),
      ),
    );
    parts.push(
      section(
        "What admins did",
        (d.audit || [])
          .slice()
          .reverse()
          .map((e) => {
            const changes = changeLines(e.before, e.after);
            const said = `${dateTime(e.at)} · ${eventWords(e.action)} by ${e.admin}: ${e.reason}`;
            return changes.length ? `${said} (${changes.join("; ")})` : said;
          }),
      ),
    );
    $("detail-body").replaceChildren(...parts);
    const buttons = $("detail-actions").querySelectorAll("button[data-action]");
    for (const button of buttons) {
      const action = button.dataset.action;
      button.disabled = (action === "ban" && banned) || (action === "unban" && !banned) || (action === "flag" && d.flagged);
    }
    $("edit-name").value = p.name;
    $("edit-planet").value = p.planet;
    $("edit-status").value = p.status;
    $("edit-score").value = p.score;
    $("edit-round-score").value = d.round_score;
    $("edit-round-score").disabled = d.round_id === null;
  }

  async act(action) {
    const p = this.data.player;
    const who = names.label(p.id, p.name);
    const spec = ACTIONS[action];
    const send = (reason, revoke, duration) => {
      if (action === "flag") return this.api.call("POST", "/api/admin/interventions", { player_id: p.id, reason });
      const body = { reason };
      if (action === "ban") body.revoke_round_clicks = revoke;
      if (action === "ban" && duration) body.duration_seconds = duration;
      return this.api.call("POST", `/api/admin/players/${encodeURIComponent(p.id)}/actions/${action}`, body);
    };
    const done = await perform(
      {
        title: spec.title,
        text: `${spec.label}: ${who} (id ${p.id}).`,
        confirmLabel: spec.label,
        revoke: spec.revoke,
        duration: spec.duration,
        danger: spec.danger,
      },
      send,
      (data, answer) => {
        const revoked = data && typeof data.revoked === "number" ? `; ${fmt(data.revoked)} clicks revoked` : "";
        const length = answer.duration ? ` for ${lengthText(answer.duration)}` : "";
        return `${spec.label}: done for ${who}${length}${revoked}.`;
      },
    );
    if (done) this.hooks.changed();
  }

  async edit() {
    const p = this.data.player;
    const changes = {};
    const name = $("edit-name").value.trim();
    if (name && name !== p.name) changes.name = name;
    if ($("edit-planet").value !== p.planet) changes.planet = $("edit-planet").value;
    if ($("edit-status").value !== p.status) changes.status = $("edit-status").value;
    const score = Number($("edit-score").value);
    if ($("edit-score").value !== "" && score !== p.score) changes.score = score;
    const roundScore = Number($("edit-round-score").value);
    if (!$("edit-round-score").disabled && $("edit-round-score").value !== "" && roundScore !== this.data.round_score) {
      changes.round_score = roundScore;
    }
    const fields = Object.keys(changes);
    if (!fields.length) {
      announce("Nothing to save: no field was changed.", "error");
      return;
    }
    const who = names.label(p.id, p.name);
    const said = fields.join(", ").replaceAll("_", " ");
    const done = await perform(
      { title: "Edit the player", text: `Change ${said} of ${who}.`, confirmLabel: "Save" },
      (reason) => this.api.call("PATCH", `/api/admin/players/${encodeURIComponent(p.id)}`, { ...changes, reason }),
      () => `Saved ${said} of ${who}.`,
    );
    if (done) this.hooks.changed();
  }
}

// One line under the title: where the player stands, and a ban's end and reason.
function summary(d) {
  const p = d.player;
  const parts = [`${title(p.planet)}`, `score ${fmt(p.score)}`, `id ${shortId(p.id)}`];
  if (p.status === "banned") {
    const until = bannedUntil(d);
    parts.unshift(until === undefined ? "Banned" : until === null ? "Banned, no end" : `Banned until ${dateTime(until)}`);
    if (d.ban_reason) parts.splice(1, 0, `“${d.ban_reason}”`);
  } else {
    parts.unshift("Active");
  }
  if (d.flagged) parts.push("flagged for review");
  return parts.join(" · ");
}

// A ban's end in unix seconds, null for a ban without end, undefined where the server does not
// say (a server without timed bans).
function bannedUntil(d) {
  if (d.player.banned_until !== undefined) return d.player.banned_until;
  return d.banned_until;
}

function pushLines(stats) {
  return stats ? evidencePairs(stats).map(([label, text]) => `${label}: ${text}`) : ["no pushes lately"];
}

const lengthText = (seconds) => {
  const known = BAN_LENGTHS.find(([value]) => Number(value) === seconds);
  return known ? known[1] : `${fmt(seconds)} s`;
};

const sum = (values) => values.reduce((a, v) => a + (typeof v === "number" ? v : 0), 0);

export function option(value, text) {
  const node = el("option", "", text);
  node.value = value;
  return node;
}

function section(heading, lines) {
  const box = el("div", "detail-part");
  box.append(el("h3", "", heading));
  const list = el("ul", "plain");
  for (const line of lines.length ? lines : ["none"]) list.append(el("li", "", line));
  box.append(list);
  return box;
}
