// Small DOM and text helpers shared by the game page (view.js) and the admin page (admin.js).
// Strings from the server only ever reach the page as text, never as HTML.

export const $ = (id) => document.getElementById(id);

export const fmt = (n) => (typeof n === "number" ? n.toLocaleString("en-US") : "–");

export const title = (name) => (name ? name.charAt(0).toUpperCase() + name.slice(1) : "–");

export const plural = (n, word) => `${fmt(n)} ${word}${n === 1 ? "" : "s"}`;

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// A countdown: m:ss, or h:mm:ss from an hour up.
export function clock(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

// A filter form that reloads its list: typed text waits ``typingMs`` for a pause, a choice
// (a select, a date) reloads at once, and submitting reloads without leaving the page.
export function watchFilters(form, reload, typingMs = 300) {
  let typing = null;
  const chosen = (target) => target.tagName === "SELECT" || target.type === "datetime-local";
  form.addEventListener("input", (event) => {
    if (chosen(event.target)) return;
    clearTimeout(typing);
    typing = setTimeout(reload, typingMs);
  });
  form.addEventListener("change", (event) => {
    if (chosen(event.target)) reload();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    reload();
  });
}
