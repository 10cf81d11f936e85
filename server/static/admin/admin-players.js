// The admin's player table (SPEC §8): search, filters, sort and pages, all done by the server
// (GET /api/admin/players); typing waits for a pause before it asks. Rows can be selected for a
// bulk job, and a name opens the player's detail.
import { $, el, fmt, title, watchFilters } from "../dom.js";
import { errorText } from "./admin-api.js";
import { PagedList } from "./admin-paging.js";
import { names } from "./admin-names.js";

// The filters and each one's JSON type, as the server declares them: the OpenAPI document's
// PlayerFilter (the engine's one declaration of the filter), read once.
let filterTypes = null;

export async function loadFilters() {
  if (!filterTypes) {
    const res = await fetch("/api/openapi.json");
    const { properties } = (await res.json()).components.schemas.PlayerFilter;
    filterTypes = Object.entries(properties).map(([name, schema]) => {
      const kind = (schema.anyOf ?? [schema]).find((one) => one.type !== "null");
      return [name, kind.type ?? "string"];
    });
  }
  return filterTypes;
}

// A datetime-local value (the browser's zone) as Unix seconds, or "".
export function localTimeToUnix(value) {
  if (!value) return "";
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? String(ms / 1000) : "";
}

export const when = (iso) => (iso ? new Date(iso).toLocaleString() : "never");

export class PlayerTable extends PagedList {
  // hooks: open(id) show a player's detail; selection(count) the selection changed.
  constructor(api, hooks) {
    super("players-prev", "players-next");
    this.api = api;
    this.hooks = hooks;
    this.selected = new Set();
    this.current = null; // the player whose detail is open
    const form = $("player-filters");
    watchFilters(form, () => this.reload());
    form.addEventListener("reset", () => setTimeout(() => this.reload()));
    $("select-page").addEventListener("change", (event) => {
      for (const box of $("player-rows").querySelectorAll("input[type=checkbox]")) {
        box.checked = event.target.checked;
        this.choose(box.value, box.checked);
      }
    });
  }

  // The filters as the server reads them (also a bulk job's filter). The list is loaded by
  // the table's first load, before any filter can be set.
  filter() {
    if (!filterTypes) throw new Error("the filter list is not loaded yet");
    const values = {};
    for (const [name, type] of filterTypes) {
      const field = $("player-filters").elements[name];
      if (!field) continue;
      let value = field.value.trim();
      if (field.type === "datetime-local") value = localTimeToUnix(value);
      if (value === "") continue;
      if (type === "boolean") values[name] = value === "true";
      else if (type === "integer" || type === "number") values[name] = Number(value);
      else values[name] = value;
    }
    return values;
  }

  // The row of the player whose detail is open is marked (null: none).
  showCurrent(id) {
    this.current = id;
    for (const row of $("player-rows").querySelectorAll("tr[data-player]")) {
      const on = row.dataset.player === id;
      row.classList.toggle("current", on);
      if (on) row.setAttribute("aria-current", "true");
      else row.removeAttribute("aria-current");
    }
  }

  selectedIds() {
    return [...this.selected];
  }

  clearSelection() {
    this.selected.clear();
    this.hooks.selection(0);
  }

  choose(id, on) {
    if (on) this.selected.add(id);
    else this.selected.delete(id);
    this.hooks.selection(this.selected.size);
  }

  async load() {
    try {
      await loadFilters();
    } catch {
      $("players-error").textContent = "The list of filters could not be read from the server.";
      return;
    }
    const elements = $("player-filters").elements;
    const params = {
      ...this.filter(),
      sort: elements.sort.value,
      order: elements.order.value,
      limit: elements.limit.value,
      page: this.page,
    };
    $("players-card").setAttribute("aria-busy", "true");
    const res = await this.fetchPage(this.api, "/api/admin/players", params);
    if (!res) return;
    $("players-card").removeAttribute("aria-busy");
    if (!res.ok) {
      $("players-error").textContent = `The player list could not be read: ${errorText(res)}`;
      return;
    }
    $("players-error").textContent = "";
    this.render(res.data);
  }

  render(data) {
    const total = data.total_count || 0;
    this.showPages(data.page, total, data.page_size || 50);
    $("players-summary").textContent =
      `${fmt(total)} player${total === 1 ? "" : "s"} match` +
      (typeof data.query_time_ms === "number" ? ` (${data.query_time_ms} ms)` : "");
    $("players-page").textContent = `Page ${fmt(data.page)} of ${fmt(this.pages)}`;
    $("select-page").checked = false;
    names.learn((data.players || []).map((p) => [p.id, p.name]));
    $("player-rows").replaceChildren(...(data.players || []).map((p) => this.row(p)));
    this.showCurrent(this.current);
    if (!(data.players || []).length) {
      const empty = el("tr");
      const cell = el("td", "muted", "No player matches these filters.");
      cell.colSpan = 10;
      empty.append(cell);
      $("player-rows").append(empty);
    }
  }

  row(player) {
    const row = el("tr");
    row.dataset.player = player.id;
    const pick = el("input");
    pick.type = "checkbox";
    pick.value = player.id;
    pick.checked = this.selected.has(player.id);
    pick.setAttribute("aria-label", `Select ${player.name}`);
    pick.addEventListener("change", () => this.choose(player.id, pick.checked));
    const open = el("button", "link", player.name);
    open.type = "button";
    open.setAttribute("aria-label", `Open ${player.name}`);
    open.addEventListener("click", () => this.hooks.open(player.id));
    const id = el("code", "", `${player.id.slice(0, 8)}…`);
    id.title = player.id;
    const status = el("span", `tag ${player.status}`, title(player.status));
    const flag = player.flagged ? el("span", "tag flagged", "Flagged") : el("span", "muted", "–");
    const cells = [
      pick,
      open,
      id,
      title(player.planet),
      status,
      fmt(player.score),
      fmt(player.round_score),
      when(player.last_click_at),
      when(player.created_at),
      flag,
    ];
    cells.forEach((content, i) => {
      const cell = el(i === 1 ? "th" : "td", i === 5 || i === 6 ? "num" : "");
      if (i === 1) cell.scope = "row";
      cell.append(content);
      row.append(cell);
    });
    return row;
  }
}
