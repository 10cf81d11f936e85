// The audit log on the admin page (SPEC §8): every admin change, newest first, filtered by
// action, target, admin and time, a page at a time (GET /api/admin/audit).
import { $, el, fmt, watchFilters } from "./dom.js";
import { errorText } from "./admin-api.js";
import { localTimeToUnix } from "./admin-players.js";

const LIMIT = 25;

export class AuditLog {
  constructor(api) {
    this.api = api;
    this.page = 1;
    this.pages = 1;
    this.asked = 0;
    const form = $("audit-filters");
    watchFilters(form, () => this.reload());
    $("audit-prev").addEventListener("click", () => this.go(this.page - 1));
    $("audit-next").addEventListener("click", () => this.go(this.page + 1));
  }

  reload() {
    this.page = 1;
    return this.load();
  }

  go(page) {
    if (page < 1 || page > this.pages) return;
    this.page = page;
    this.load();
  }

  async load() {
    const params = {
      action: $("a-action").value,
      target: $("a-target").value.trim(),
      admin: $("a-admin").value.trim(),
      since: localTimeToUnix($("a-since").value),
      until: localTimeToUnix($("a-until").value),
      page: this.page,
      limit: LIMIT,
    };
    const asked = ++this.asked;
    const res = await this.api.get("/api/admin/audit", params);
    if (asked !== this.asked) return;
    if (!res.ok) {
      const row = el("tr");
      const cell = el("td", "form-error", `The audit log could not be read: ${errorText(res)}`);
      cell.colSpan = 6;
      row.append(cell);
      $("audit-rows").replaceChildren(row);
      return;
    }
    const data = res.data;
    this.pages = Math.max(1, Math.ceil((data.total_count || 0) / LIMIT));
    $("audit-page").textContent = `Page ${fmt(data.page)} of ${fmt(this.pages)} · ${fmt(data.total_count)} entries`;
    $("audit-prev").disabled = data.page <= 1;
    $("audit-next").disabled = data.page >= this.pages;
    const rows = (data.entries || []).map((entry) => {
      const row = el("tr");
      row.dataset.audit = entry.id;
      row.dataset.action = entry.action;
      const cells = [
        new Date(entry.at * 1000).toLocaleString(),
        entry.admin,
        entry.action,
        entry.target,
        entry.reason,
        change(entry.before, entry.after),
      ];
      row.append(...cells.map((text) => el("td", "", text)));
      return row;
    });
    if (!rows.length) {
      const row = el("tr");
      const cell = el("td", "muted", "No entry matches.");
      cell.colSpan = 6;
      row.append(cell);
      rows.push(row);
    }
    $("audit-rows").replaceChildren(...rows);
  }
}

// "before → after", shortened: the log keeps the whole of both.
function change(before, after) {
  const text = (value) => (value === null || value === undefined ? "" : JSON.stringify(value));
  const shown = [text(before), text(after)].filter(Boolean).join(" → ");
  return shown.length > 160 ? `${shown.slice(0, 159)}…` : shown || "–";
}
