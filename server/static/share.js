// Sharing a result: the Web Share API where the device has it (phones), else the text and the
// link are copied to the clipboard. Returns what happened: "shared", "cancelled", "copied" or
// "failed" (then the page shows the text so it can be copied by hand).
export async function share(text, url) {
  if (navigator.share) {
    try {
      await navigator.share({ title: "Click the Button", text, url });
      return "shared";
    } catch (error) {
      if (error && error.name === "AbortError") return "cancelled";
    }
  }
  try {
    await navigator.clipboard.writeText(`${text} ${url}`);
    return "copied";
  } catch {
    return "failed";
  }
}

// What a player shares: the last result if the round is over, else where they stand now.
export function shareText(board, me, ranks) {
  const r = (board && board.round) || {};
  const planet = me ? cap(me.planet) : "my planet";
  const score = me ? `${(me.round_score || 0).toLocaleString("en-US")} clicks` : "some clicks";
  const rank = ranks.round ? ` (#${ranks.round} this round)` : "";
  if (r.status === "finished" && r.id != null) {
    const outcome = r.winner ? `${cap(r.winner)} won round ${r.id}` : `Round ${r.id} was a draw`;
    return `${outcome} of Click the Button. I played for ${planet} with ${score}${rank}.`;
  }
  return `I'm clicking for ${planet} in Click the Button: ${score}${rank} so far. Join the race!`;
}

const cap = (name) => (name ? name.charAt(0).toUpperCase() + name.slice(1) : "–");
