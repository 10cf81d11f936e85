// Bulk jobs on the admin page (SPEC §8): start one over the selected players or every match of
// the table's filters (POST /api/admin/bulk), follow each running job's progress bar
// (GET /api/admin/bulk/{id}), cancel one (POST /api/admin/bulk/{id}/cancel), and resume one that a
// restart interrupted (POST /api/admin/bulk/{id}/resume).
import { $, el, fmt, title } from "../dom.js";
import { announce, perform } from "./admin-dialog.js";
import { option } from "./admin-detail.js";

const POLL_MS = 1000;
const LABELS = { ban: "Ban", unban: "Unban", reset_score: "Reset score", move_planet: "Move planet" };

export class BulkJobs {
  // table: the PlayerTable (its filter and selection); hooks: changed() a job moved players.
  constructor(api, table, hooks) {
    this.api = api;
    this.table = table;
    this.hooks = hooks;
    this.jobs = new Map(); // id -> job
    this.timer = null;
    $("bulk-action").addEventListener("change", () => {
      $("bulk-planet-field").hidden = $("bulk-action").value !== "move_planet";
    });
    $("bulk-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.start();
    });
  }

  setPlanets(names) {
    $("bulk-planet").replaceChildren(...names.map((name) => option(name, title(name))));
  }

  async load() {
    const res = await this.api.get("/api/admin/bulk");
    if (!res.ok) return;
    this.jobs = new Map((res.data.jobs || []).map((job) => [job.id, job]));
    this.render();
    this.follow();
  }

  async start() {
    const action = $("bulk-action").value;
    const scope = $("bulk-form").elements["bulk-scope"].value;
    const body = { action };
    let who;
    if (scope === "selected") {
      const ids = this.table.selectedIds();
      if (!ids.length) {
        announce("Select players in the table first, or choose every match of the filters.", "error");
        return;
      }
      body.player_ids = ids;
      who = `${fmt(ids.length)} selected player${ids.length === 1 ? "" : "s"}`;
    } else {
      body.filter = this.table.filter();
      const names = Object.keys(body.filter);
      who = names.length
        ? `every player matching ${names.join(", ").replaceAll("_", " ")}`
        : "every player in the game (no filter is set)";
    }
    if (action === "move_planet") body.planet = $("bulk-planet").value;
    const job = await perform(
      {
        title: `Bulk job: ${LABELS[action]}`,
        text: `${LABELS[action]}${action === "move_planet" ? ` to ${title(body.planet)}` : ""} for ${who}.`,
        confirmLabel: "Start the job",
        revoke: action === "ban" ? false : undefined,
      },
      (reason, revoke) => {
        const sent = { ...body, reason };
        if (action === "ban") sent.revoke_round_clicks = revoke;
        return this.api.call("POST", "/api/admin/bulk", sent);
      },
      (data) => `Bulk job ${data.id} started over ${fmt(data.total)} players.`,
    );
    if (!job) return;
    this.table.clearSelection();
    this.jobs.set(job.id, job);
    this.render();
    this.follow();
  }

  follow() {
    clearTimeout(this.timer);
    const running = [...this.jobs.values()].filter((job) => job.status === "running");
    if (!running.length) return;
    this.timer = setTimeout(async () => {
      const answers = await Promise.all(running.map((job) => this.api.get(`/api/admin/bulk/${job.id}`)));
      let finished = false;
      for (const res of answers) {
        if (!res.ok || !res.data) continue;
        finished ||= res.data.status !== "running";
        if (res.data.status === "done") announce(`Bulk job ${res.data.id} is done: ${fmt(res.data.done)} changed.`);
        this.jobs.set(res.data.id, res.data);
      }
      this.render();
      if (finished) this.hooks.changed();
      this.follow();
    }, POLL_MS);
  }

  cancel(job) {
    return this.act(
      job,
      "cancel",
      { title: `Cancel bulk job ${job.id}`, text: "What it already did stays done.", confirmLabel: "Cancel the job" },
      (data) => `Bulk job ${data.id} cancelled after ${fmt(data.processed)} of ${fmt(data.total)}.`,
    );
  }

  resume(job) {
    return this.act(
      job,
      "resume",
      {
        title: `Resume bulk job ${job.id}`,
        text: `A restart stopped it after ${fmt(job.processed)} of ${fmt(job.total)}; it goes on from there.`,
        confirmLabel: "Resume the job",
      },
      (data) => `Bulk job ${data.id} resumed at ${fmt(data.processed)} of ${fmt(data.total)}.`,
    );
  }

  // One change to a job, asked for with a reason: cancel or resume.
  async act(job, verb, dialog, said) {
    const done = await perform(dialog, (reason) => this.api.call("POST", `/api/admin/bulk/${job.id}/${verb}`, { reason }), said);
    if (done) {
      this.jobs.set(done.id, done);
      this.render();
      this.hooks.changed();
      this.follow();
    }
  }

  render() {
    const jobs = [...this.jobs.values()].sort((a, b) => b.id - a.id);
    const items = jobs.map((job) => {
      const item = el("li", "job");
      item.dataset.job = job.id;
      item.dataset.status = job.status;
      const head = el("div", "job-head");
      const planet = job.params && job.params.planet ? ` to ${title(job.params.planet)}` : "";
      const name = el("strong", "", `#${job.id} ${LABELS[job.action] || job.action}${planet}`);
      head.append(name, el("span", `tag ${job.status}`, title(job.status)));
      // The share of the walk done: over a filter, the players reached may end above or
      // below the count at creation (docs/admin.md).
      const bar = el("progress");
      bar.max = 1;
      bar.value = job.progress;
      bar.id = `job-progress-${job.id}`;
      bar.setAttribute("aria-label", `Bulk job ${job.id} progress`);
      const counts = el(
        "p",
        "muted small",
        `${fmt(job.processed)} of ${fmt(job.total)} · ${fmt(job.done)} changed · ${fmt(job.skipped)} skipped · by ${job.admin}: ${job.reason}`,
      );
      item.append(head, bar, counts);
      if (job.status === "interrupted") {
        const resume = el("button", "", "Resume…");
        resume.type = "button";
        resume.setAttribute("aria-label", `Resume bulk job ${job.id}`);
        resume.addEventListener("click", () => this.resume(job));
        item.append(resume);
      }
      if (job.status === "running" || job.status === "interrupted") {
        const stop = el("button", "danger", "Cancel…");
        stop.type = "button";
        stop.setAttribute("aria-label", `Cancel bulk job ${job.id}`);
        stop.addEventListener("click", () => this.cancel(job));
        item.append(stop);
      }
      return item;
    });
    if (!items.length) items.push(el("li", "muted", "No bulk job yet."));
    $("job-list").replaceChildren(...items);
  }

  stop() {
    clearTimeout(this.timer);
  }
}

