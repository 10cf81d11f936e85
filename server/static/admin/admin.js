// Click the Button: the admin page (SPEC §8, §9). Plain JavaScript modules, no build step.
//
// This module signs in and wires the parts: admin-api.js (token and requests), admin-live.js
// (figures and charts from the admin socket), admin-players.js and admin-detail.js (the player
// table and one player), admin-jobs.js (bulk jobs), admin-interventions.js, admin-audit.js and
// admin-rounds.js (planets, rounds, pause). admin-dialog.js holds the confirmation dialog and
// the live region every action reports to; admin-names.js says who a player is (a name, with a
// short id where two share it) and admin-words.js the rest in plain words.
import { $, el } from "../dom.js";
import { AdminApi } from "./admin-api.js";
import { AuditLog } from "./admin-audit.js";
import { PlayerDetail } from "./admin-detail.js";
import { Interventions } from "./admin-interventions.js";
import { BulkJobs } from "./admin-jobs.js";
import { LiveFigures } from "./admin-live.js";
import { names } from "./admin-names.js";
import { PlayerTable } from "./admin-players.js";
import { RoundControl } from "./admin-rounds.js";
import { eventWords } from "./admin-words.js";

const REFRESH_MS = 5000; // planets and round, beside the socket's figures

const api = new AdminApi((message) => signOut(message));
let timer = null;

// After any change to players every list that shows them reads again, once for a burst of
// changes (an action here and its event on the socket, a bulk job's steps).
let again = null;
function changed() {
  clearTimeout(again);
  again = setTimeout(() => {
    table.load();
    detail.refresh();
    rounds.load();
    cases.load();
    audit.load();
  }, 150);
}

const detail = new PlayerDetail(api, { changed, shown: (id) => table.showCurrent(id) });
const table = new PlayerTable(api, {
  open: (id) => detail.open(id),
  selection: (count) => {
    $("selected-count").textContent = String(count);
  },
});
const jobs = new BulkJobs(api, table, { changed });
const cases = new Interventions(api, { open: (id) => detail.open(id), changed });
const audit = new AuditLog(api);
const rounds = new RoundControl(api, {
  planets: (names) => {
    const keep = $("f-planet").value;
    const any = $("f-planet").options[0];
    $("f-planet").replaceChildren(any, ...names.map((name) => new Option(name[0].toUpperCase() + name.slice(1), name)));
    $("f-planet").value = keep;
    detail.setPlanets(names);
    jobs.setPlanets(names);
  },
});
const live = new LiveFigures(api, {
  state: (state) => {
    $("socket-state").dataset.state = state;
    $("socket-state").textContent = state;
  },
  event: (message) => {
    const kind = String(message.kind || message.type || "event");
    if (kind !== "bulk") logEvent(kind, message);
    if (kind === "flag" || kind === "intervention") cases.load();
    if (kind !== "flag") changed();
  },
});

// What other admins (and the detectors) do, as it happens: the newest ten, newest first, each
// naming its player ("12:04:10 · Bob banned by alice: autoclicker").
const events = [];

function logEvent(kind, message) {
  const about = message.intervention || message;
  names.learn([[about.player_id, about.player_name]]);
  events.unshift({ kind, message, about });
  events.splice(10);
  showEvents();
}

function showEvents() {
  $("event-log").replaceChildren(
    ...events.map(({ kind, message, about }) => {
      const at = typeof message.at === "number" ? new Date(message.at * 1000) : new Date();
      const who = about.player_id ? `${names.label(about.player_id, about.player_name)} ` : "";
      const by = message.admin ? ` by ${message.admin}` : "";
      const why = message.reason ? `: ${message.reason}` : "";
      const item = el("li", "", `${at.toLocaleTimeString()} · ${who}${eventWords(kind)}${by}${why}`);
      if (about.player_id) item.dataset.player = about.player_id;
      return item;
    }),
  );
}

names.onChange(showEvents);

function showSignedIn(signedIn) {
  document.documentElement.classList.toggle("has-token", signedIn);
  $("signin").hidden = signedIn;
  for (const node of document.querySelectorAll("[data-signed-in]")) node.hidden = !signedIn;
  if (!signedIn) detail.close(false);
}

// Who is signed in, where the server says it (GET /api/admin/me: named admin tokens); a server
// that does not say shows nothing.
async function showAdmin() {
  const res = await api.get("/api/admin/me");
  const name = res.ok && res.data && typeof res.data.name === "string" ? res.data.name : "";
  $("admin-name-text").textContent = name;
  $("admin-name").hidden = !name;
}

async function signIn(value) {
  api.setToken(value);
  $("token-error").textContent = "";
  // The metrics answer tells whether the token is good before the page opens up; its history
  // draws the charts at once.
  const res = await api.get("/api/admin/metrics", { history: 1 });
  if (!api.token) return; // refused: signOut has run
  if (!res.ok) {
    api.setToken(null);
    showSignedIn(false);
    $("token-error").textContent = `The admin API answered: ${res.error.message}`;
    return;
  }
  showSignedIn(true);
  showAdmin();
  live.start(res.data);
  rounds.load();
  table.load();
  jobs.load();
  cases.load();
  audit.load();
  clearInterval(timer);
  timer = setInterval(() => rounds.load(), REFRESH_MS);
}

function signOut(message) {
  api.setToken(null);
  $("admin-name").hidden = true;
  live.stop();
  jobs.stop();
  clearInterval(timer);
  showSignedIn(false);
  $("token-error").textContent = message || "";
  $("token-input").value = "";
  $("token-input").focus();
}

$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = $("token-input").value.trim();
  if (value) signIn(value);
});
$("forget").addEventListener("click", () => signOut(""));

if (api.token) signIn(api.token);
else showSignedIn(false);
