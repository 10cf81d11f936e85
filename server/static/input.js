// The game page's controls: the button (mouse, touch, pen, Space/Enter; SPEC §9), the refresh
// button, the leaderboard tabs and the rename form. What each does is the caller's:
//   press(point)    count one click ({x, y} where the pointer pressed, null for a key);
//                   returns true when it counted
//   refresh()       read the state from the server (a promise)
//   scope(name)     show the "round" or "all" leaderboard
//   currentName()   the player's name, to start the rename form with
//   rename(name)    a promise of null when renamed, else the message to show ("" for none)
import { $ } from "./dom.js";

const NAME_MAX = 24; // SPEC §3

export function bindInput({ press, refresh, scope, currentName, rename }) {
  bindButton(press);

  $("refresh").addEventListener("click", async () => {
    const button = $("refresh");
    button.disabled = true;
    try {
      await refresh();
    } finally {
      button.disabled = false;
    }
  });

  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => scope(tab.dataset.scope));
  }

  bindRename(currentName, rename);
}

function bindButton(press) {
  const button = $("big-button");
  const pressed = (point = null) => {
    if (!press(point)) return;
    button.classList.remove("pop");
    void button.offsetWidth; // restart the animation
    button.classList.add("pop");
  };
  // pointerdown counts a press at once (mouse, touch, pen); the click that follows is ignored,
  // and keyboard presses are counted by the keydown handler below, so nothing counts twice.
  button.addEventListener("pointerdown", (event) => {
    if (event.button === 0) pressed({ x: event.clientX, y: event.clientY });
  });
  button.addEventListener("contextmenu", (event) => event.preventDefault());
  document.addEventListener("keydown", (event) => {
    if (event.key !== " " && event.key !== "Enter") return;
    const target = event.target;
    if (
      target instanceof Element &&
      target.closest("input, textarea, select, a, [contenteditable], button:not(#big-button)")
    ) {
      return; // typing a name or using another control
    }
    event.preventDefault();
    if (!event.repeat) pressed(); // holding a key down is not clicking
  });
}

function bindRename(currentName, rename) {
  const form = $("rename-form");
  const error = $("rename-error");
  const input = $("name-input");
  $("rename").addEventListener("click", () => {
    form.hidden = false;
    error.textContent = "";
    input.value = currentName();
    input.focus();
    input.select();
  });
  const close = () => {
    form.hidden = true;
    $("rename").focus();
  };
  $("rename-cancel").addEventListener("click", close);
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = input.value.trim();
    if (!name || name.length > NAME_MAX) {
      error.textContent = `A name has 1 to ${NAME_MAX} characters.`;
      return;
    }
    const refusal = await rename(name);
    if (refusal === null) form.hidden = true;
    else error.textContent = refusal;
  });
}
