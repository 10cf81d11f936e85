// Round control and the game's state on the admin page (SPEC §8): the planets' totals and the
// round from the public snapshot, the pause from GET /api/admin/game; queue a round
// (POST /api/admin/rounds), end the current one, pause and resume — each with a reason.
import { $, clock, el, fmt, title } from "../dom.js";
import { request } from "../api.js";
import { perform } from "./admin-dialog.js";

export class RoundControl {
  // hooks: planets(names) the game's planets are known.
  constructor(api, hooks) {
    this.api = api;
    this.hooks = hooks;
    this.etag = null;
    this.snapshot = null;
    this.paused = null;
    this.planetNames = "";
    $("round-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.queue();
    });
    $("end-round").addEventListener("click", () => this.end());
    $("pause-game").addEventListener("click", () => this.pause(true));
    $("resume-game").addEventListener("click", () => this.pause(false));
  }

  async load() {
    const [snap, game] = await Promise.all([this.readSnapshot(), this.api.get("/api/admin/game")]);
    if (game.ok && game.data) this.paused = game.data;
    if (snap) this.render(snap);
  }

  async readSnapshot() {
    try {
      const headers = this.etag ? { "If-None-Match": this.etag } : {};
      const res = await request("GET", "/api/snapshot", undefined, { headers });
      if (res.status === 304) return this.snapshot;
      if (!res.ok || !res.data) return this.snapshot;
      this.etag = res.etag;
      this.snapshot = res.data;
    } catch {
      // unreachable: keep what is shown
    }
    return this.snapshot;
  }

  render(data) {
    const round = data.round || {};
    const paused = this.paused ? this.paused.paused : Boolean(data.paused);
    const reason = this.paused ? this.paused.reason : data.pause_reason;
    const now = Date.now() / 1000;
    let text = `Round ${round.id ?? "–"} is ${round.status || "unknown"}`;
    if (round.status === "active" && typeof round.ends_at === "number") {
      text += `, ${clock(round.ends_at - now)} left, target ${fmt(round.target)}`;
    } else if (typeof round.next_round_at === "number") {
      text += `; the next starts in ${clock(round.next_round_at - now)}`;
    }
    text += paused ? `. The game is PAUSED${reason ? `: ${reason}` : ""}.` : ". The game is running.";
    $("game-state").textContent = text;
    $("game-state").dataset.paused = String(paused);
    $("pause-game").hidden = paused;
    $("resume-game").hidden = !paused;
    $("end-round").disabled = round.status !== "active";
    const inRound = new Set(round.planets || []);
    const planets = data.planets || [];
    $("planet-rows").replaceChildren(
      ...planets.map((p) => {
        const row = el("tr");
        row.dataset.planet = p.name;
        const cells = [
          title(p.name),
          inRound.size && !inRound.has(p.name) ? "–" : fmt(p.total),
          fmt(p.all_time),
          fmt(p.players),
        ];
        row.append(...cells.map((value, i) => el(i ? "td" : "th", "", value)));
        row.firstChild.scope = "row";
        return row;
      }),
    );
    const names = planets.map((p) => p.name);
    if (names.join() !== this.planetNames) {
      this.planetNames = names.join();
      this.hooks.planets(names);
    }
  }

  async queue() {
    const target = Number($("round-target").value);
    const seconds = Number($("round-seconds").value);
    const body = {};
    if ($("round-target").value !== "") body.target = target;
    if ($("round-seconds").value !== "") body.seconds = seconds;
    const done = await perform(
      {
        title: "Queue a round",
        text: `Target ${body.target ? fmt(target) : "default"}, ${body.seconds ? `${fmt(seconds)} s` : "default length"}.`,
        confirmLabel: "Queue",
        danger: false,
      },
      (reason) => this.api.call("POST", "/api/admin/rounds", { ...body, reason }),
      (data) => `Round ${data.id} queued: target ${fmt(data.target)}, ${fmt(data.seconds)} s.`,
    );
    if (done) this.load();
  }

  async end() {
    const done = await perform(
      { title: "End the current round", text: "The round finishes now; the planet ahead wins.", confirmLabel: "End the round" },
      (reason) => this.api.call("POST", "/api/admin/rounds/current/end", { reason }),
      (data) => `Round ${data.id ?? ""} ended${data.winner ? `; ${title(data.winner)} won` : ""}.`,
    );
    if (done) this.load();
  }

  async pause(on) {
    const done = await perform(
      on
        ? { title: "Pause the game", text: "Pushes are refused and the round clock stops.", confirmLabel: "Pause" }
        : { title: "Resume the game", text: "Pushes are accepted again.", confirmLabel: "Resume", danger: false },
      (reason) => this.api.call("POST", `/api/admin/game/${on ? "pause" : "resume"}`, { reason }),
      () => (on ? "The game is paused." : "The game is running again."),
    );
    if (done) {
      this.paused = done;
      this.load();
    }
  }
}
