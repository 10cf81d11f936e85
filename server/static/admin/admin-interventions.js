// The interventions queue on the admin page (SPEC §8): flagged players with their evidence,
// newest first (GET /api/admin/interventions); assign, add a note, or resolve with a template —
// warn, ban (revoking this round's clicks if ticked), dismiss as a false positive — in one
// action (PATCH /api/admin/interventions/{id}). A case names its player ("About Bob", with a
// short id where two players share the name) and says its evidence in plain words.
import { $, el, fmt, title } from "../dom.js";
import { errorText } from "./admin-api.js";
import { announce, perform } from "./admin-dialog.js";
import { names } from "./admin-names.js";
import { CASE_KINDS, dateTime, evidencePairs } from "./admin-words.js";

const LIMIT = 20;
const TEMPLATES = [
  { resolve: "warn", label: "Warn", reason: "Warned the player", danger: false },
  { resolve: "ban", label: "Ban", reason: "Banned the player", revoke: true },
  { resolve: "dismiss", label: "Dismiss as false positive", reason: "Dismissed as a false positive", danger: false },
];

export class Interventions {
  // hooks: open(playerId) show the player; changed() a case changed a player.
  constructor(api, hooks) {
    this.api = api;
    this.hooks = hooks;
    this.page = 1;
    this.pages = 1;
    this.shown = [];
    names.onChange(() => this.render());
    $("i-status").addEventListener("change", () => {
      this.page = 1;
      this.load();
    });
    $("cases-prev").addEventListener("click", () => this.go(this.page - 1));
    $("cases-next").addEventListener("click", () => this.go(this.page + 1));
  }

  go(page) {
    if (page < 1 || page > this.pages) return;
    this.page = page;
    this.load();
  }

  async load() {
    const status = $("i-status").value;
    const res = await this.api.get("/api/admin/interventions", { status, page: this.page, limit: LIMIT });
    if (!res.ok) {
      $("case-list").replaceChildren(el("li", "form-error", `The queue could not be read: ${errorText(res)}`));
      return;
    }
    const data = res.data;
    this.pages = Math.max(1, Math.ceil((data.total_count || 0) / LIMIT));
    $("cases-page").textContent = `Page ${fmt(data.page)} of ${fmt(this.pages)} · ${fmt(data.total_count)} cases`;
    $("cases-prev").disabled = data.page <= 1;
    $("cases-next").disabled = data.page >= this.pages;
    this.shown = data.interventions || [];
    names.learn(this.shown.map((c) => [c.player_id, c.player_name]));
    this.render();
  }

  render() {
    const items = this.shown.map((c) => this.item(c));
    if (!items.length) items.push(el("li", "muted", "No case here."));
    $("case-list").replaceChildren(...items);
  }

  item(c) {
    const item = el("li", "case");
    item.dataset.case = c.id;
    item.dataset.status = c.status;
    const head = el("div", "job-head");
    const heading = el("h3", "", `#${c.id} ${CASE_KINDS[c.kind] || c.kind}`);
    head.append(heading, el("span", `tag ${c.status}`, title(c.status)));
    const who = el("p", "small");
    const open = el("button", "link", names.label(c.player_id, c.player_name));
    open.type = "button";
    open.dataset.player = c.player_id;
    open.addEventListener("click", () => this.hooks.open(c.player_id));
    who.append("About ", open, ` · flagged ${dateTime(c.created_at)}`);
    if (c.flagged_by) who.append(` by ${c.flagged_by}`);
    if (c.assignee) who.append(` · assigned to ${c.assignee}`);
    item.append(head, who);
    const evidence = el("ul", "plain evidence");
    evidence.setAttribute("aria-label", "Evidence");
    for (const [label, text] of evidencePairs(c.evidence)) evidence.append(el("li", "", `${label}: ${text}`));
    item.append(evidence);
    if ((c.notes || []).length) {
      const notes = el("ul", "plain notes");
      notes.setAttribute("aria-label", "Notes");
      for (const n of c.notes) notes.append(el("li", "", `${n.admin}: ${n.text}`));
      item.append(notes);
    }
    if (c.status === "resolved") {
      item.append(el("p", "muted small", `Resolved (${c.resolution}) by ${c.resolved_by}.`));
      return item;
    }
    item.append(this.controls(c));
    return item;
  }

  controls(c) {
    const box = el("div", "case-controls");
    const templates = el("div", "row-actions");
    for (const t of TEMPLATES) {
      const button = el("button", t.danger === false ? "" : "danger", `${t.label}…`);
      button.type = "button";
      button.dataset.resolve = t.resolve;
      button.setAttribute("aria-label", `${t.label}: case ${c.id}`);
      button.addEventListener("click", () => this.resolve(c, t));
      templates.append(button);
    }
    const assign = inlineForm(`assign-${c.id}`, "Assign to", 64, "Assign", (name) =>
      this.patch(c, { assignee: name, reason: `assigned to ${name}` }, `Case ${c.id} assigned to ${name}.`),
    );
    const note = inlineForm(`note-${c.id}`, "Note", 1000, "Add note", (words) =>
      this.patch(c, { note: words, reason: "note" }, `Note added to case ${c.id}.`),
    );
    box.append(templates, assign, note);
    return box;
  }

  async patch(c, body, said) {
    const res = await this.api.call("PATCH", `/api/admin/interventions/${c.id}`, body);
    if (!res.ok) {
      announce(`Case ${c.id} could not be changed: ${errorText(res)}`, "error");
      return;
    }
    announce(said);
    this.load();
  }

  async resolve(c, template) {
    const done = await perform(
      {
        title: `${template.label}: case ${c.id}`,
        text: `Resolve case ${c.id} about ${names.label(c.player_id, c.player_name)} (id ${c.player_id}).`,
        confirmLabel: template.label,
        reason: template.reason,
        revoke: template.revoke,
        danger: template.danger,
      },
      (reason, revoke) => {
        const body = { resolve: template.resolve, reason };
        if (template.resolve === "ban") body.revoke_round_clicks = revoke;
        return this.api.call("PATCH", `/api/admin/interventions/${c.id}`, body);
      },
      () => `Case ${c.id} resolved: ${template.reason.toLowerCase()}.`,
    );
    if (done) {
      this.load();
      this.hooks.changed();
    }
  }
}

function field(label, input) {
  const box = el("div", "field");
  box.append(label, input);
  return box;
}

// A one-field form (a labelled text input and its button) that hands the trimmed text on.
function inlineForm(id, labelText, maxLength, buttonText, submit) {
  const form = el("form", "inline-form");
  const label = el("label", "", labelText);
  label.htmlFor = id;
  const input = el("input");
  input.id = id;
  input.maxLength = maxLength;
  input.required = true;
  input.autocomplete = "off";
  const button = el("button", "ghost", buttonText);
  button.type = "submit";
  form.append(field(label, input), button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (text) submit(text);
  });
  return form;
}
