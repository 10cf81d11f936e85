// One player's detail on the admin page (GET /api/admin/players/{id}) and what can be done to
// them: ban (optionally revoking this round's clicks), unban, reset score, kick, flag for review,
// and edit (PATCH). Each asks for a reason and a confirmation.
import { $, el, fmt, title } from "./dom.js";
import { errorText } from "./admin-api.js";
import { announce, perform } from "./admin-dialog.js";
import { when } from "./admin-players.js";

const ACTIONS = {
  ban: { title: "Ban the player", label: "Ban", revoke: false },
  unban: { title: "Unban the player", label: "Unban", danger: false },
  reset_score: { title: "Reset the player's score", label: "Reset score" },
  kick: { title: "Kick the player", label: "Kick", danger: false },
  flag: { title: "Flag the player for review", label: "Flag", danger: false },
};

export class PlayerDetail {
  // hooks: changed() something about a player changed (reload the lists).
  constructor(api, hooks) {
    this.api = api;
    this.hooks = hooks;
    this.data = null;
    $("detail-close").addEventListener("click", () => this.close());
    for (const button of $("detail-actions").querySelectorAll("button[data-action]")) {
      button.addEventListener("click", () => this.act(button.dataset.action));
    }
    $("edit-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.edit();
    });
  }

  setPlanets(names) {
    $("edit-planet").replaceChildren(...names.map((name) => option(name, title(name))));
  }

  async open(id, focus = true) {
    const res = await this.api.get(`/api/admin/players/${encodeURIComponent(id)}`);
    if (!res.ok) {
      announce(`The player could not be read: ${errorText(res)}`, "error");
      return;
    }
    this.data = res.data;
    this.render();
    $("detail-card").hidden = false;
    if (focus) $("detail-title").focus();
  }

  close() {
    this.data = null;
    $("detail-card").hidden = true;
  }

  refresh() {
    if (this.data) this.open(this.data.player.id, false);
  }

  render() {
    const d = this.data;
    const p = d.player;
    $("detail-card").dataset.player = p.id;
    $("detail-title").textContent = `Player ${p.name}`;
    const facts = [
      ["Id", p.id],
      ["Name", p.name],
      ["Planet", title(p.planet)],
      ["Status", title(p.status)],
      ["Score", fmt(p.score)],
      ["Rank", fmt(p.rank)],
      ["Round score", fmt(d.round_score)],
      ["Round rank", p.round_rank === null ? "–" : fmt(p.round_rank)],
      ["Created", when(p.created_at)],
      ["Last click", when(p.last_click_at)],
      ["Throttle violations", fmt(d.violations)],
      ["Push tokens left", fmt(d.tokens)],
      ["Flagged", d.flagged ? "yes" : "no"],
    ];
    const list = el("dl", "facts");
    for (const [term, value] of facts) {
      const box = el("div");
      box.dataset.fact = term;
      box.append(el("dt", "", term), el("dd", "", value));
      list.append(box);
    }
    const parts = [list];
    const batches = Object.entries(d.round_batches || {});
    parts.push(
      section(
        `Batches of round ${d.round_id ?? "–"}`,
        batches.length
          ? batches.map(([planet, counts]) => `${title(planet)}: ${counts.length} batches, ${fmt(sum(counts))} clicks`)
          : ["none"],
      ),
    );
    if (d.push_stats) parts.push(section("Push rhythm (current window)", evidenceLines(d.push_stats)));
    parts.push(
      section(
        "Past rounds",
        (d.rounds || []).map((r) => `Round ${r.round}: ${fmt(r.total)} clicks, won by ${title(r.winner)}`),
      ),
    );
    parts.push(
      section(
        "Interventions",
        (d.interventions || []).map((c) => `#${c.id} ${c.kind}, ${c.status}${c.resolution ? ` (${c.resolution})` : ""}`),
      ),
    );
    parts.push(
      section(
        "Actions",
        (d.audit || [])
          .slice()
          .reverse()
          .map((e) => `${new Date(e.at * 1000).toLocaleString()} · ${e.action} by ${e.admin}: ${e.reason}`),
      ),
    );
    $("detail-body").replaceChildren(...parts);
    const banned = p.status === "banned";
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
    const spec = ACTIONS[action];
    const send = (reason, revoke) => {
      if (action === "flag") return this.api.call("POST", "/api/admin/interventions", { player_id: p.id, reason });
      const body = { reason };
      if (action === "ban") body.revoke_round_clicks = revoke;
      return this.api.call("POST", `/api/admin/players/${encodeURIComponent(p.id)}/actions/${action}`, body);
    };
    const done = await perform(
      {
        title: spec.title,
        text: `${spec.label}: ${p.name} (${p.id}).`,
        confirmLabel: spec.label,
        revoke: spec.revoke,
        danger: spec.danger,
      },
      send,
      (data) => {
        const revoked = data && typeof data.revoked === "number" ? `; ${fmt(data.revoked)} clicks revoked` : "";
        return `${spec.label}: done for ${p.name}${revoked}.`;
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
    const names = Object.keys(changes);
    if (!names.length) {
      announce("Nothing to save: no field was changed.", "error");
      return;
    }
    const done = await perform(
      {
        title: "Edit the player",
        text: `Change ${names.join(", ").replaceAll("_", " ")} of ${p.name}.`,
        confirmLabel: "Save",
      },
      (reason) => this.api.call("PATCH", `/api/admin/players/${encodeURIComponent(p.id)}`, { ...changes, reason }),
      () => `Saved ${names.join(", ").replaceAll("_", " ")} of ${p.name}.`,
    );
    if (done) this.hooks.changed();
  }
}

const sum = (values) => values.reduce((a, v) => a + (typeof v === "number" ? v : 0), 0);

export function option(value, text) {
  const node = el("option", "", text);
  node.value = value;
  return node;
}

export function evidenceLines(evidence) {
  return Object.entries(evidence)
    .filter(([, v]) => v === null || typeof v !== "object")
    .map(([k, v]) => `${k.replaceAll("_", " ")}: ${typeof v === "number" ? fmt(v) : String(v ?? "–")}`);
}

function section(heading, lines) {
  const box = el("div", "detail-part");
  box.append(el("h3", "", heading));
  const list = el("ul", "plain");
  for (const line of lines.length ? lines : ["none"]) list.append(el("li", "", line));
  box.append(list);
  return box;
}
