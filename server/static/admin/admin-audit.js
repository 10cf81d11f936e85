// The audit log on the admin page (SPEC §8): every admin change, newest first, filtered by
// action, target, admin and time, a page at a time (GET /api/admin/audit). The target is named
// (the player's name, a short id beside it where two players share it; "bulk job 3"; "round
// 5"), and the change is a wrapping list of "field: before → after", one line a field.
import { $, el, fmt, watchFilters } from "../dom.js";
import { errorText } from "./admin-api.js";
import { PagedList } from "./admin-paging.js";
import { names } from "./admin-names.js";
import { localTimeToUnix } from "./admin-players.js";
import { changeLines, dateTime } from "./admin-words.js";

const LIMIT = 25;

export class AuditLog extends PagedList {
  constructor(api) {
    super("audit-prev", "audit-next");
    this.api = api;
    this.entries = null;
    watchFilters($("audit-filters"), () => this.reload());
    names.onChange(() => this.entries && this.render());
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
    this.entries = data.entries || [];
    names.learn(this.entries.filter((e) => isPlayer(e.target)).map((e) => [e.target, e.target_name]));
    this.render();
  }

  render() {
    const rows = this.entries.map((entry) => {
      const row = el("tr");
      row.dataset.audit = entry.id;
      row.dataset.action = entry.action;
      const target = el("td", "", targetText(entry));
      if (isPlayer(entry.target)) target.title = entry.target;
      const cells = [
        el("td", "", dateTime(entry.at)),
        el("td", "", entry.admin),
        el("td", "", entry.action.replaceAll("_", " ")),
        target,
        el("td", "", entry.reason),
        el("td", "change"),
      ];
      const lines = changeLines(entry.before, entry.after);
      const list = el("ul", "plain");
      for (const line of lines.length ? lines : ["–"]) list.append(el("li", "", line));
      cells[5].append(list);
      row.append(...cells);
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

// A target that is not a bulk job, a round or the game is a player's id.
const isPlayer = (target) => typeof target === "string" && !/^(bulk|round):|^game$/.test(target);

function targetText(entry) {
  const target = String(entry.target ?? "");
  if (isPlayer(target)) return names.label(target, entry.target_name);
  if (target === "game") return "the game";
  const [kind, id] = target.split(":");
  return `${kind === "bulk" ? "bulk job" : kind} ${id}`;
}
