// The admin page's confirmation dialog and its live region.
//
// Every destructive action asks for a reason (the audit log's) and a confirmation in one modal
// <dialog>: showModal() keeps focus inside it, Escape cancels, and focus returns to the control
// that opened it. A ban may also be given a length (SPEC §8 duration_seconds). Results are
// announced in a polite live region (role=status).
import { $ } from "../dom.js";
import { errorText } from "./admin-api.js";
import { BAN_LENGTHS } from "./admin-words.js";

$("confirm-duration").replaceChildren(...BAN_LENGTHS.map(([seconds, text]) => new Option(text, seconds)));

let hideTimer = null;

// Say what happened, for everyone: the toast is the live region itself.
export function announce(text, kind = "ok") {
  const box = $("announcer");
  box.dataset.kind = kind;
  box.textContent = "";
  // A new text node, even with the same words, is read out again.
  requestAnimationFrame(() => {
    box.textContent = text;
  });
  clearTimeout(hideTimer);
  hideTimer = setTimeout(() => {
    box.textContent = "";
  }, 8000);
}

// Ask for a reason and a confirmation. options: {title, text, confirmLabel, revoke (show the
// "revoke this round's clicks" box, checked or not), duration (offer a ban length), danger}.
// Resolves to {reason, revoke, duration (seconds, or null for no end)}, or null when cancelled.
export function confirmAction(options) {
  const dialog = $("confirm-dialog");
  const opener = document.activeElement;
  $("confirm-title").textContent = options.title;
  $("confirm-text").textContent = options.text || "";
  $("confirm-ok").textContent = options.confirmLabel || "Confirm";
  $("confirm-ok").className = options.danger === false ? "" : "danger";
  $("confirm-reason").value = options.reason || "";
  const showRevoke = options.revoke !== undefined;
  $("confirm-revoke-row").hidden = !showRevoke;
  $("confirm-revoke").checked = Boolean(options.revoke);
  $("confirm-duration-row").hidden = !options.duration;
  $("confirm-duration").value = "";
  return new Promise((resolve) => {
    const finish = (value) => {
      dialog.removeEventListener("close", onClose);
      $("confirm-cancel").removeEventListener("click", onCancel);
      if (opener && opener.isConnected && typeof opener.focus === "function") opener.focus();
      resolve(value);
    };
    const onClose = () => {
      if (dialog.returnValue === "ok") {
        const seconds = options.duration ? Number($("confirm-duration").value) : 0;
        finish({
          reason: $("confirm-reason").value.trim(),
          revoke: $("confirm-revoke").checked,
          duration: seconds > 0 ? seconds : null,
        });
      } else {
        finish(null);
      }
    };
    const onCancel = () => dialog.close("cancel");
    dialog.addEventListener("close", onClose);
    $("confirm-cancel").addEventListener("click", onCancel);
    dialog.returnValue = "";
    dialog.showModal();
    $("confirm-reason").focus();
  });
}

// Confirm, send, announce. send(reason, revoke, duration) returns the API's answer;
// success(data, answer) the sentence to announce. Resolves to the answer's data, or null when
// cancelled or refused.
export async function perform(options, send, success) {
  const answer = await confirmAction(options);
  if (!answer) return null;
  const res = await send(answer.reason, answer.revoke, answer.duration);
  if (!res.ok) {
    announce(`${options.title} failed: ${errorText(res)}`, "error");
    return null;
  }
  announce(success(res.data, answer));
  return res.data || {};
}
