// The words an operator reads on the admin page, in one place: an audit entry's change as
// "field: before → after" lines, the detectors' evidence in plain words instead of the
// engine's keys ("cv interval" is "variation in timing"), what an admin event did, and ban
// lengths. Pure functions over the server's data, so tests/js runs them under node.
import { fmt } from "../dom.js";

// Field names of players, cases, jobs and rounds as they are said.
const FIELDS = {
  round_score: "round score",
  revoke_round_clicks: "revoked this round's clicks",
  revoked: "clicks revoked",
  banned_until: "banned until",
  ban_reason: "ban reason",
  duration_seconds: "ban length",
  paused_seconds: "paused for (s)",
  player_id: "player",
  player_name: "player",
  assignee: "assigned to",
  resolved_by: "resolved by",
  resolved_at: "resolved",
  created_at: "created",
  flagged_by: "flagged by",
};

// The detectors' figures (engine/admin/interventions.py) as an operator reads them; a coefficient
// of variation is said as a share: near 0 % a push comes like clockwork, which people never do.
const EVIDENCE = {
  window_seconds: ["Watched for", (v) => `${fmt(v)} s`],
  pushes: ["Pushes", fmt],
  throttled_pushes: ["Pushes over the click limit", fmt],
  throttled_clicks: ["Clicks refused by the limit", fmt],
  mean_interval: ["Time between pushes (average)", (v) => `${fmt(v)} s`],
  cv_interval: ["Variation in timing (near 0 % is machine-like)", percent],
  mean_count: ["Clicks a push (average)", fmt],
  cv_count: ["Variation in clicks a push (near 0 % is machine-like)", percent],
  violations: ["Times over the click limit", fmt],
  clicks_per_second: ["Clicks a second", fmt],
  reason: ["Reason", String],
};

function percent(v) {
  return typeof v === "number" ? `${fmt(Math.round(v * 1000) / 10)} %` : "–";
}

export const fieldName = (key) => FIELDS[key] || String(key).replaceAll("_", " ");

// Unix seconds as the browser's local date and time.
export const dateTime = (seconds) => new Date(seconds * 1000).toLocaleString();

const looksLikeTime = (key, v) => typeof v === "number" && v > 1e9 && (key.endsWith("_at") || key.endsWith("_until"));

// One value in a few words: lists and objects are summed up, never dumped as JSON.
export function valueText(value, key = "") {
  if (value === null || value === undefined) return "none";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (looksLikeTime(key, value)) return dateTime(value);
  if (typeof value === "number") return fmt(value);
  if (typeof value === "string") return value === "" ? "(empty)" : value;
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== "object")) {
      const shown = value.slice(0, 5).map((v) => valueText(v)).join(", ");
      return value.length > 5 ? `${shown} and ${fmt(value.length - 5)} more` : shown || "none";
    }
    return `${fmt(value.length)} item${value.length === 1 ? "" : "s"}`;
  }
  const entries = Object.entries(value).filter(([, v]) => v === null || typeof v !== "object");
  return entries.map(([k, v]) => `${fieldName(k)} ${valueText(v, k)}`).join(", ") || "…";
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// An audit entry's change, one line a changed field: "status: active → banned". A field only
// before or only after says so; nothing but a value (not an object) is one line.
export function changeLines(before, after) {
  const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  if (!isObject(before) && !isObject(after)) {
    if (before == null && after == null) return [];
    if (before == null) return [valueText(after)];
    return [`${valueText(before)} → ${valueText(after)}`];
  }
  const b = isObject(before) ? before : {};
  const a = isObject(after) ? after : {};
  const lines = [];
  for (const key of new Set([...Object.keys(b), ...Object.keys(a)])) {
    if (same(b[key], a[key])) continue;
    const field = fieldName(key);
    if (!(key in b) || !isObject(before)) lines.push(`${field}: ${valueText(a[key], key)}`);
    else if (!(key in a)) lines.push(`${field}: ${valueText(b[key], key)} → removed`);
    else lines.push(`${field}: ${valueText(b[key], key)} → ${valueText(a[key], key)}`);
  }
  return lines;
}

// The detectors' evidence as [label, text] pairs; unknown figures keep their key, in words.
export function evidencePairs(evidence) {
  return Object.entries(evidence || {})
    .filter(([, v]) => v === null || typeof v !== "object")
    .map(([key, v]) => {
      const [label, show] = EVIDENCE[key] || [fieldName(key), (x) => valueText(x, key)];
      return [label, v === null ? "–" : show(v)];
    });
}

// What an admin event did, in the past tense.
const EVENTS = {
  ban: "banned",
  unban: "unbanned",
  kick: "kicked",
  reset_score: "score reset",
  patch: "edited",
  flag: "flagged for review",
  intervention: "case changed",
  pause: "game paused",
  resume: "game resumed",
  queue_round: "round queued",
  end_round: "round ended",
};

// The kinds of intervention case (engine/admin/interventions.py).
export const CASE_KINDS = {
  throttling: "Sustained throttling",
  machine_rhythm: "Machine rhythm",
  manual: "Flagged by hand",
};

export const eventWords = (kind) => EVENTS[kind] || String(kind).replaceAll("_", " ");

// Ban lengths offered in the ban dialog: seconds (duration_seconds), "" for no end.
export const BAN_LENGTHS = [
  ["", "No end (until unbanned)"],
  ["3600", "1 hour"],
  ["21600", "6 hours"],
  ["86400", "1 day"],
  ["259200", "3 days"],
  ["604800", "7 days"],
  ["2592000", "30 days"],
];
