// Live figures on the admin page (SPEC §8, §9): GET /api/admin/metrics gives the first point,
// then the admin socket (GET /api/admin/ws) pushes the figures every 5 s and player events as
// they happen. Clicks/s, pushes/s and connections over the last 10 minutes are drawn as inline
// SVG (no chart library; attributes only, so the page's CSP needs no inline style).
import { $, fmt, title } from "./dom.js";
import { Backoff } from "./timing.js";

export const WINDOW_S = 600;
const SVG = "http://www.w3.org/2000/svg";
const W = 300;
const H = 80;

// Where each charted figure may sit in a metrics object, first match wins; a running total is
// turned into a rate between two points.
const SERIES = {
  clicks: { rates: ["clicks_per_second", "clicks_per_s", "cps"], totals: ["clicks_total"] },
  pushes: { rates: ["pushes_per_second", "pushes_per_s"], totals: ["pushes_total"] },
  connections: { rates: ["connections", "ws_connections", "sockets"], totals: [] },
};

function lookup(metrics, names) {
  for (const name of names) {
    if (typeof metrics[name] === "number") return metrics[name];
    for (const group of ["rates", "figures", "totals"]) {
      const inner = metrics[group];
      if (inner && typeof inner[name] === "number") return inner[name];
    }
  }
  return null;
}

export class LiveFigures {
  // hooks: event(message) a player event (ban, flag, …) came; state(name) the socket's state.
  constructor(api, hooks) {
    this.api = api;
    this.hooks = hooks;
    this.points = []; // {t, clicks, pushes, connections, raw}
    this.socket = null;
    this.backoff = new Backoff();
    this.retry = null;
    this.stopped = true;
  }

  async start() {
    this.stopped = false;
    const res = await this.api.get("/api/admin/metrics");
    if (res.ok && res.data) this.add(res.data);
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
    const type = message.type || message.kind;
    if (type === "metrics" || type === "figures") {
      this.add(message.metrics || message.figures || message.data || message);
    } else if (type === "event" || type === "admin") {
      this.hooks.event(message.data || message);
    } else if (type && type !== "pong" && type !== "hello") {
      this.hooks.event(message);
    }
  }

  add(metrics) {
    const t = typeof metrics.at === "number" ? metrics.at : Date.now() / 1000;
    const point = { t, raw: metrics };
    const previous = this.points[this.points.length - 1];
    for (const [name, where] of Object.entries(SERIES)) {
      point[name] = lookup(metrics, where.rates);
      if (point[name] === null && where.totals.length) {
        const total = lookup(metrics, where.totals);
        point[`${name}_total`] = total;
        const before = previous && previous[`${name}_total`];
        if (typeof total === "number" && typeof before === "number" && t > previous.t) {
          point[name] = Math.max(0, (total - before) / (t - previous.t));
        }
      }
    }
    this.points.push(point);
    while (this.points.length && this.points[0].t < t - WINDOW_S) this.points.shift();
    this.render(point);
  }

  render(point) {
    renderFigures(point.raw);
    const end = point.t;
    for (const name of Object.keys(SERIES)) {
      const values = this.points.map((p) => [p.t, p[name]]);
      const latest = point[name];
      const known = values.map(([, v]) => v).filter((v) => typeof v === "number");
      const max = known.length ? Math.max(...known) : null;
      const now = typeof latest === "number" ? round(latest) : "–";
      $(`now-${name}`).textContent = max === null ? now : `${now} (max ${round(max)})`;
      const chart = $(`chart-${name}`);
      drawChart(chart, values, end);
      const label = chart.getAttribute("aria-label").split(":")[0];
      chart.setAttribute("aria-label", `${label}: now ${now}, highest ${max === null ? "–" : round(max)}`);
      chart.dataset.points = String(known.length);
      chart.dataset.latest = typeof latest === "number" ? String(latest) : "";
    }
    $("updated").textContent = new Date(point.t * 1000).toLocaleTimeString();
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
