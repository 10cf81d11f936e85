// How a click feels: a floating +1 where the button was pressed, a clicks-per-second meter, a
// celebration when the player's planet wins, and an optional sound (off by default). All of it
// is cheap enough for a phone — a small pool of elements moved by the compositor (transform and
// opacity through the Web Animations API), no layout per click — and it honours
// prefers-reduced-motion: no movement then, only the numbers.
import { $, el } from "./dom.js";

const FLOATS = 8; // at most this many +1s in the air at once
const CPS_WINDOW_MS = 1000;
const SOUND_KEY = "ctb.sound";
const CONFETTI = 28;

const reducedMotion = () =>
  typeof matchMedia === "function" && matchMedia("(prefers-reduced-motion: reduce)").matches;

export class Feel {
  constructor() {
    this.presses = []; // times of the last second's presses, oldest first
    this.pool = [];
    this.next = 0;
    this.audio = null;
    this.lastBeepAt = 0;
    this.sound = readSound();
  }

  // One counted press at (x, y) in the button's box (null for a key: the middle).
  press(point, now = performance.now()) {
    this.presses.push(now);
    this.showCps(now);
    if (this.sound) this.beep(now);
    if (reducedMotion()) return;
    const layer = $("floats");
    if (!layer || typeof layer.animate !== "function") return;
    if (this.pool.length < FLOATS) {
      const node = el("span", "float", "+1");
      layer.append(node);
      this.pool.push(node);
    }
    const node = this.pool[this.next % this.pool.length];
    this.next += 1;
    const box = layer.getBoundingClientRect();
    const x = point ? point.x - box.left : box.width / 2;
    const y = point ? point.y - box.top : box.height / 2;
    const drift = (this.next % 5) * 6 - 12;
    node.animate(
      [
        { transform: `translate(${x}px, ${y}px) scale(0.8)`, opacity: 1 },
        { transform: `translate(${x + drift}px, ${y - 70}px) scale(1.15)`, opacity: 0 },
      ],
      { duration: 650, easing: "cubic-bezier(.2,.7,.3,1)", fill: "forwards" },
    );
  }

  // Clicks in the last second; the page's tick calls it too, so the meter falls back to 0.
  showCps(now = performance.now()) {
    while (this.presses.length && this.presses[0] <= now - CPS_WINDOW_MS) this.presses.shift();
    const node = $("cps");
    const value = String(this.presses.length);
    if (node && node.dataset.value !== value) {
      node.dataset.value = value;
      node.textContent = value;
    }
  }

  // The player's planet won: a burst of confetti in its colour, and a chord if sound is on.
  celebrate(color) {
    if (this.sound) this.chord();
    if (reducedMotion() || typeof document.body.animate !== "function") return;
    const layer = el("div", "confetti");
    layer.setAttribute("aria-hidden", "true");
    const colors = [color, "#fde68a", "#f9a8d4", "#a7f3d0", "#c7d2fe"];
    const width = window.innerWidth;
    for (let i = 0; i < CONFETTI; i += 1) {
      const bit = el("span", "bit");
      bit.style.setProperty("background", colors[i % colors.length]);
      const x = Math.random() * width;
      const fall = window.innerHeight * (0.6 + Math.random() * 0.4);
      bit.animate(
        [
          { transform: `translate(${x}px, -20px) rotate(0deg)`, opacity: 1 },
          { transform: `translate(${x + (Math.random() - 0.5) * 160}px, ${fall}px) rotate(${
            360 + Math.random() * 360
          }deg)`, opacity: 0 },
        ],
        { duration: 1600 + Math.random() * 900, easing: "ease-in", fill: "forwards" },
      );
      layer.append(bit);
    }
    document.body.append(layer);
    setTimeout(() => layer.remove(), 2600);
  }

  // ---------------------------------------------------------------- sound (off by default)

  toggleSound() {
    this.sound = !this.sound;
    try {
      localStorage.setItem(SOUND_KEY, this.sound ? "on" : "off");
    } catch {
      /* kept for this page only */
    }
    if (this.sound) this.context(); // created in the click that turned it on, as browsers ask
    return this.sound;
  }

  context() {
    if (!this.audio) {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return null;
      this.audio = new Context();
    }
    if (this.audio.state === "suspended") this.audio.resume();
    return this.audio;
  }

  tone(freq, at, length, volume = 0.06) {
    const ctx = this.context();
    if (!ctx) return;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = freq;
    osc.type = "triangle";
    gain.gain.setValueAtTime(volume, ctx.currentTime + at);
    gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + at + length);
    osc.connect(gain).connect(ctx.destination);
    osc.start(ctx.currentTime + at);
    osc.stop(ctx.currentTime + at + length);
  }

  beep(now) {
    if (now - this.lastBeepAt < 45) return; // a blur of clicks is not a wall of sound
    this.lastBeepAt = now;
    this.tone(620 + Math.min(this.presses.length, 15) * 20, 0, 0.05);
  }

  chord() {
    [523, 659, 784, 1047].forEach((freq, i) => this.tone(freq, i * 0.09, 0.35, 0.05));
  }
}

function readSound() {
  try {
    return localStorage.getItem(SOUND_KEY) === "on";
  } catch {
    return false;
  }
}
