// Click the Button: the admin page (SPEC §9). A plain JavaScript module, no build step.
//
// The admin API (SPEC §8) is not on the server yet. This page keeps the admin token for the tab
// (sessionStorage), asks the server whether it has the admin API, and shows what the server
// already publishes: /api/snapshot every 5 s, with clicks per second and players online charted
// from those samples. It offers no control it cannot carry out.
import { request } from "./api.js";
import { $, clock, el, fmt, title } from "./dom.js";

const TOKEN_KEY = "ctb.admin_token";
const EVERY_MS = 5000;
const KEEP = 120; // samples: 10 minutes at one every 5 s

let token = sessionStorage.getItem(TOKEN_KEY);
let timer = null;
let etag = null;
let snapshot = null;
const samples = []; // {t, cps, online}
let last = null; // {t, round, total}

// ---------------------------------------------------------------- sign in

function showSignedIn(signedIn) {
  $("signin").hidden = signedIn;
  for (const id of ["session", "live", "charts", "planets-card", "coming"]) {
    $(id).hidden = !signedIn;
  }
}

function signIn(value) {
  token = value;
  sessionStorage.setItem(TOKEN_KEY, value);
  $("token-error").textContent = "";
  showSignedIn(true);
  poll();
}

function signOut(message) {
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  clearTimeout(timer);
  showSignedIn(false);
  $("token-error").textContent = message || "";
  $("token-input").value = "";
  $("token-input").focus();
}

function apiStatus(state, text) {
  const box = $("api-status");
  box.dataset.state = state;
  box.textContent = text;
}

// Does the server have the admin API, and does it take this token?
async function probeAdminApi() {
  let res;
  try {
    res = await request("GET", "/api/admin/metrics", undefined, { token });
  } catch {
    apiStatus("unreachable", "The server cannot be reached.");
    return;
  }
  if (res.status === 401 || res.status === 403) {
    signOut("The server refused this token.");
    return;
  }
  if (res.status === 404 || res.status === 405) {
    apiStatus(
      "missing",
      "This server has no admin API yet, so the token cannot be checked and players cannot be " +
        "managed here. The public figures below are live.",
    );
    $("admin-figures").hidden = true;
    return;
  }
  if (!res.ok) {
    apiStatus("error", `The admin API answered ${res.status}.`);
    return;
  }
  apiStatus("ready", "Admin API connected: the token was accepted.");
  renderAdminFigures(res.data);
}

function renderAdminFigures(data) {
  const table = $("admin-figures");
  if (!data || typeof data !== "object") {
    table.hidden = true;
    return;
  }
  const rows = Object.entries(data)
    .filter(([, v]) => v === null || ["number", "string", "boolean"].includes(typeof v))
    .map(([k, v]) => {
      const row = el("tr");
      const value = typeof v === "number" ? fmt(v) : String(v);
      row.append(el("th", "", k.replaceAll("_", " ")), el("td", "", value));
      return row;
    });
  table.replaceChildren(...rows);
  table.hidden = rows.length === 0;
}

// ---------------------------------------------------------------- public figures

async function readSnapshot() {
  const headers = etag ? { "If-None-Match": etag } : {};
  const res = await request("GET", "/api/snapshot", undefined, { headers });
  if (res.status === 304 && snapshot) return snapshot;
  if (!res.ok || !res.data) throw new Error(`snapshot: HTTP ${res.status}`);
  etag = res.etag;
  snapshot = res.data;
  return snapshot;
}

function sample(data) {
  const t = Date.now() / 1000;
  const round = data.round || {};
  const total = (data.planets || []).reduce((a, p) => a + (p.total || 0), 0);
  let cps = null;
  if (last && last.round === round.id && total >= last.total && t > last.t) {
    cps = (total - last.total) / (t - last.t);
  }
  last = { t, round: round.id, total };
  samples.push({ t, cps, online: data.online });
  while (samples.length > KEEP) samples.shift();
}

function renderFigures(data) {
  const round = data.round || {};
  $("fig-online").textContent = fmt(data.online);
  $("fig-players").textContent = fmt(data.players_total);
  $("fig-round").textContent = round.id ?? "–";
  $("fig-status").textContent = title(round.status);
  $("fig-target").textContent = fmt(round.target);
  const now = Date.now() / 1000;
  if (round.status === "active" && typeof round.ends_at === "number") {
    $("fig-time-label").textContent = "Time left";
    $("fig-time").textContent = clock(round.ends_at - now);
  } else {
    $("fig-time-label").textContent = "Next round in";
    $("fig-time").textContent =
      typeof round.next_round_at === "number" ? clock(round.next_round_at - now) : "–";
  }
  const inRound = new Set(round.planets || []);
  $("planet-rows").replaceChildren(
    ...(data.planets || []).map((p) => {
      const row = el("tr");
      row.dataset.planet = p.name;
      const cells = [
        title(p.name) + (round.status === "finished" && round.winner === p.name ? " (won)" : ""),
        inRound.size && !inRound.has(p.name) ? "–" : fmt(p.total),
        fmt(p.all_time),
        fmt(p.players),
      ];
      row.append(...cells.map((text, i) => el(i ? "td" : "th", "", text)));
      return row;
    }),
  );
  const latest = samples[samples.length - 1];
  $("cps-now").textContent = latest && latest.cps !== null ? latest.cps.toFixed(1) : "–";
  $("online-now").textContent = fmt(data.online);
  drawChart($("chart-cps"), samples.map((s) => s.cps), "#ff4f8b");
  drawChart($("chart-online"), samples.map((s) => s.online), "#22c55e");
  $("updated").textContent = new Date().toLocaleTimeString();
}

function drawChart(canvas, values, color) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 600;
  const height = canvas.clientHeight || 90;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  ctx.clearRect(0, 0, width, height);
  const known = values.filter((v) => typeof v === "number");
  const top = Math.max(1, ...known) * 1.15;
  const pad = 6;
  const x = (i) => pad + ((width - 2 * pad) * i) / (KEEP - 1);
  const y = (v) => height - pad - ((height - 2 * pad) * v) / top;
  ctx.strokeStyle = "rgba(147, 160, 196, 0.2)";
  ctx.lineWidth = 1;
  for (const f of [0.25, 0.5, 0.75]) {
    ctx.beginPath();
    ctx.moveTo(pad, y(top * f));
    ctx.lineTo(width - pad, y(top * f));
    ctx.stroke();
  }
  const offset = KEEP - values.length;
  ctx.strokeStyle = color;
  ctx.lineWidth = 2;
  let run = [];
  const flush = () => {
    if (run.length === 1) {
      ctx.beginPath();
      ctx.arc(run[0][0], run[0][1], 2.5, 0, 2 * Math.PI);
      ctx.fillStyle = color;
      ctx.fill();
    } else if (run.length) {
      ctx.fillStyle = `${color}33`;
      ctx.beginPath();
      run.forEach(([px, py], k) => (k ? ctx.lineTo(px, py) : ctx.moveTo(px, py)));
      ctx.stroke();
      ctx.lineTo(run[run.length - 1][0], height - pad);
      ctx.lineTo(run[0][0], height - pad);
      ctx.closePath();
      ctx.fill();
    }
    run = [];
  };
  values.forEach((v, i) => {
    if (typeof v === "number") run.push([x(offset + i), y(v)]);
    else flush();
  });
  flush();
  ctx.fillStyle = "rgba(147, 160, 196, 0.8)";
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillText(`max ${fmt(Math.round(Math.max(0, ...known) * 10) / 10)}`, pad + 2, pad + 10);
}

async function poll() {
  clearTimeout(timer);
  if (!token) return;
  const probe = probeAdminApi();
  try {
    const data = await readSnapshot();
    sample(data);
    renderFigures(data);
  } catch {
    $("updated").textContent = "server unreachable";
  }
  await probe;
  if (token) timer = setTimeout(poll, EVERY_MS);
}

// ---------------------------------------------------------------- start

$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = $("token-input").value.trim();
  if (value) signIn(value);
});
$("forget").addEventListener("click", () => signOut(""));

if (token) signIn(token);
else showSignedIn(false);
