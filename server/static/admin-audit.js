// The audit log on the admin page (SPEC §8): every admin change, newest first, filtered by
// action, target, admin and time, a page at a time (GET /api/admin/audit).
import { $, el, fmt, watchFilters } from "./dom.js";
import { errorText } from "./admin-api.js";
import { PagedList } from "./admin-paging.js";
import { localTimeToUnix } from "./admin-players.js";

const LIMIT = 25;

export class AuditLog extends PagedList {
  constructor(api) {
    super("audit-prev", "audit-next");
    this.api = api;
    watchFilters($("audit-filters"), () => this.reload());
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
    const res = await this.fetchPage(this.api, "/api/admin/audit", params);
    if (!res) return;
    if (!res.ok) {
      const row = el("tr");
      const cell = el("td", "form-error", `The audit log could not be read: ${errorText(res)}`);
      cell.colSpan = 6;
      row.append(cell);
      $("audit-rows").replaceChildren(row);
      return;
    }
    const data = res.data;
    this.showPages(data.page, data.total_count || 0, LIMIT);
    $("audit-page").textContent = `Page ${fmt(data.page)} of ${fmt(this.pages)} · ${fmt(data.total_count)} entries`;
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
