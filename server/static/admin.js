// Click the Button: the admin page (SPEC §8, §9). Plain JavaScript modules, no build step.
//
// This module signs in and wires the parts: admin-api.js (token and requests), admin-live.js
// (figures and charts from the admin socket), admin-players.js and admin-detail.js (the player
// table and one player), admin-jobs.js (bulk jobs), admin-interventions.js, admin-audit.js and
// admin-rounds.js (planets, rounds, pause). admin-dialog.js holds the confirmation dialog and
// the live region every action reports to.
import { $, el } from "./dom.js";
import { AdminApi } from "./admin-api.js";
import { AuditLog } from "./admin-audit.js";
import { PlayerDetail } from "./admin-detail.js";
import { Interventions } from "./admin-interventions.js";
import { BulkJobs } from "./admin-jobs.js";
import { LiveFigures } from "./admin-live.js";
import { PlayerTable } from "./admin-players.js";
import { RoundControl } from "./admin-rounds.js";

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

const detail = new PlayerDetail(api, { changed });
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

// What other admins (and the detectors) do, as it happens: the newest ten, newest first.
function logEvent(kind, message) {
  const who = message.player_id || (message.intervention && message.intervention.player_id) || "";
  const by = message.admin ? ` by ${message.admin}` : "";
  const text = `${new Date().toLocaleTimeString()} · ${kind.replaceAll("_", " ")}${who ? ` ${who}` : ""}${by}`;
  const list = $("event-log");
  list.prepend(el("li", "", text));
  while (list.children.length > 10) list.lastChild.remove();
}

function showSignedIn(signedIn) {
  document.documentElement.classList.toggle("has-token", signedIn);
  $("signin").hidden = signedIn;
  for (const node of document.querySelectorAll("[data-signed-in]")) node.hidden = !signedIn;
  if (!signedIn) $("detail-card").hidden = true;
}

async function signIn(value) {
  api.setToken(value);
  $("token-error").textContent = "";
  // The metrics answer tells whether the token is good before the page opens up.
  const res = await api.get("/api/admin/metrics");
  if (!api.token) return; // refused: signOut has run
  if (!res.ok) {
    api.setToken(null);
    showSignedIn(false);
    $("token-error").textContent = `The admin API answered: ${res.error.message}`;
    return;
  }
  showSignedIn(true);
  live.start();
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
