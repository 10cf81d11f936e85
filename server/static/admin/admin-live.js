// Live figures on the admin page (SPEC §8, §9): the server keeps the last 10 minutes of its
// figures (a point every 5 s), so the charts start filled: the sign-in's
// GET /api/admin/metrics?history=1 draws them at once, the admin socket (GET /api/admin/ws)
// opens with the same history and then pushes the figures every 5 s, and player events as they
// happen. Clicks/s, pushes/s and connections over the last 10 minutes are drawn as inline SVG
// (no chart library; attributes only, so the page's CSP needs no inline style). Each point is
// placed at its ``at``, the server's time of the sample.
import { $, fmt, title } from "../dom.js";
import { Backoff } from "../timing.js";

export const WINDOW_S = 600;
const SVG = "http://www.w3.org/2000/svg";
const W = 300;
const H = 80;

// The charted figures, by chart.
const SERIES = { clicks: "clicks_per_second", pushes: "pushes_per_second", connections: "connections" };

export class LiveFigures {
  // hooks: event(message) a player event (ban, flag, …) came; state(name) the socket's state.
  constructor(api, hooks) {
    this.api = api;
    this.hooks = hooks;
    this.points = []; // the figures as the server sent them, oldest first, each with ``at``
    this.socket = null;
    this.backoff = new Backoff();
    this.retry = null;
    this.stopped = true;
  }

  // first: the sign-in's answer to GET /api/admin/metrics?history=1 (the figures now and,
  // in ``history``, the last 10 minutes of them).
  start(first) {
    this.stopped = false;
    this.points = [];
    if (first) {
      const { history, ...now } = first;
      this.merge([...(Array.isArray(history) ? history : []), now]);
    }
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retry);
    if (this.socket) this.socket.close(1000);
    this.socket = null;
  }

  async connect() {
    if (this.stopped || !this.api.token) return;
    this.hooks.state("connecting");
    // Browsers cannot set an Authorization header on a WebSocket: the admin token buys a
    // short-lived handshake token first, so the admin token itself never sits in a URL.
    const res = await this.api.call("POST", "/api/admin/ws-token", {});
    if (this.stopped) return;
    if (!res.ok || !res.data || !res.data.token) {
      this.retryLater();
      return;
    }
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const url = `${scheme}//${location.host}/api/admin/ws?token=${encodeURIComponent(res.data.token)}`;
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.backoff.reset();
      this.hooks.state("live");
    });
    socket.addEventListener("message", (event) => this.receive(event.data));
    socket.addEventListener("close", () => {
      if (this.socket !== socket || this.stopped) return;
      this.socket = null;
      this.retryLater();
    });
  }

  retryLater() {
    this.hooks.state("reconnecting");
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.connect(), this.backoff.fail());
  }

  receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (!message || typeof message !== "object") return;
    if (message.type === "history") {
      const interval = message.data && message.data.interval;
      if (typeof interval === "number") {
        $("chart-note").textContent = `The last 10 minutes, a point every ${fmt(interval)} s, kept by the server.`;
      }
      this.merge((message.data && message.data.points) || []);
    }
    else if (message.type === "metrics") this.merge([message.data || {}]);
    else if (message.type === "event") this.hooks.event(message.data || {});
  }

  // Add figures (from the history or a push), keeping one point per time, oldest first, and
  // the last WINDOW_S seconds only; then draw.
  merge(figures) {
    const byTime = new Map(this.points.map((p) => [p.at, p]));
    for (const f of figures) if (f && typeof f.at === "number") byTime.set(f.at, f);
    const points = [...byTime.values()].sort((a, b) => a.at - b.at);
    if (!points.length) return;
    const end = points[points.length - 1].at;
    this.points = points.filter((p) => p.at >= end - WINDOW_S);
    this.render();
  }

  render() {
    const latest = this.points[this.points.length - 1];
    renderFigures(latest);
    for (const [name, figure] of Object.entries(SERIES)) {
      const values = this.points.map((p) => [p.at, typeof p[figure] === "number" ? p[figure] : null]);
      const known = values.map(([, v]) => v).filter((v) => v !== null);
      const max = known.length ? Math.max(...known) : null;
      const value = latest[figure];
      const now = typeof value === "number" ? round(value) : "–";
      $(`now-${name}`).textContent = max === null ? now : `${now} (max ${round(max)})`;
      const chart = $(`chart-${name}`);
      drawChart(chart, values, latest.at);
      const label = chart.getAttribute("aria-label").split(":")[0];
      chart.setAttribute("aria-label", `${label}: now ${now}, highest ${max === null ? "–" : round(max)}`);
      chart.dataset.points = String(known.length);
      chart.dataset.latest = typeof value === "number" ? String(value) : "";
      chart.dataset.since = String(this.points[0].at);
    }
    $("updated").textContent = new Date(latest.at * 1000).toLocaleTimeString();
  }
}

const round = (v) => fmt(Math.round(v * 10) / 10);

// The figures worth a glance sit in the page already (no shift when they arrive); any others
// the server sends are left to /metrics.
function renderFigures(metrics) {
  for (const box of $("figures").children) {
    const value = metrics[box.dataset.figure];
    let text = "–";
    if (typeof value === "number") text = fmt(Math.round(value * 100) / 100);
    else if (typeof value === "boolean") text = value ? "yes" : "no";
    else if (typeof value === "string") text = title(value);
    box.lastElementChild.textContent = text;
  }
}

function svg(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

// A line over the last WINDOW_S seconds ending at `end`; gaps (no value) break the line.
export function drawChart(chart, values, end) {
  const known = values.map(([, v]) => v).filter((v) => typeof v === "number");
  const top = Math.max(1, ...known) * 1.15;
  const x = (t) => (W * (t - (end - WINDOW_S))) / WINDOW_S;
  const y = (v) => H - 2 - ((H - 4) * v) / top;
  const nodes = [0.25, 0.5, 0.75].map((f) =>
    svg("line", { x1: 0, x2: W, y1: y(top * f), y2: y(top * f), class: "chart-grid" }),
  );
  let run = [];
  const flush = () => {
    if (run.length === 1) run.push([run[0][0] + 1, run[0][1]]);
    if (run.length) {
      const line = run.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(" ");
      const first = run[0][0].toFixed(1);
      const last = run[run.length - 1][0].toFixed(1);
      nodes.push(svg("polygon", { points: `${first},${H} ${line} ${last},${H}`, class: "chart-area" }));
      nodes.push(
        svg("polyline", { points: line, class: "chart-line", "vector-effect": "non-scaling-stroke" }),
      );
    }
    run = [];
  };
  for (const [t, v] of values) {
    if (typeof v === "number") run.push([x(t), y(v)]);
    else flush();
  }
  flush();
  chart.replaceChildren(...nodes);
}
