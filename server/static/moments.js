// The moments around the clicking: a round that starts or ends is announced for screen readers,
// its end reloads the past rounds (history.js) and, when the player's planet won, celebrates
// (feel.js); the sound switch and the share buttons (share.js).
import { $ } from "./dom.js";
import { loadRounds, showRounds } from "./history.js";
import { share, shareText } from "./share.js";
import { notice, planetColor, resultText } from "./view.js";

export class Moments {
  // ranks(): the ranks the page shows ({round, all}), or null while they are unknown.
  constructor({ api, state, feel, announcer, ranks }) {
    Object.assign(this, { api, state, feel, announcer, ranks });
    this.roundKey = null; // "<id>:<status>" of the round last seen
    this.rounds = null;
  }

  // Called on every render: acts once per change of the round's id or status.
  round() {
    const r = this.state.board && this.state.board.round;
    if (!r || r.id == null) return;
    const key = `${r.id}:${r.status}`;
    if (key === this.roundKey) return;
    const first = this.roundKey === null; // the page just opened: nothing to announce
    this.roundKey = key;
    if (first) {
      this.reloadRounds();
      return;
    }
    const me = this.state.me;
    if (r.status === "finished") {
      this.reloadRounds();
      const mine = Boolean(me && r.winner === me.planet);
      const sub = me && r.winner ? (mine ? " Your planet won!" : " Better luck next round.") : "";
      this.announcer.say(resultText(r) + sub);
      if (mine) this.feel.celebrate(planetColor(r.winner));
    } else if (r.status === "active") {
      this.announcer.say(`Round ${r.id} has started.`);
    }
  }

  async reloadRounds() {
    const loaded = await loadRounds(this.api);
    if (loaded) this.rounds = loaded;
    showRounds(this.rounds, this.state.me);
  }

  async share() {
    const text = shareText(this.state.board, this.state.me, this.ranks() || {});
    const url = `${location.origin}/`;
    const how = await share(text, url);
    if (how === "copied") notice("Copied your result and the link: paste it anywhere.");
    else if (how === "failed") notice(`Copy this to share: ${text} ${url}`);
  }

  bind() {
    const sound = $("sound");
    const showSound = () => sound.setAttribute("aria-pressed", String(this.feel.sound));
    showSound();
    sound.addEventListener("click", () => {
      this.feel.toggleSound();
      showSound();
    });
    $("share").addEventListener("click", () => this.share());
    $("share-result").addEventListener("click", () => this.share());
  }
}
