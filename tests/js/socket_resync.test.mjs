// The socket's resync (server/static/socket.js): asked once until its snapshot comes (SPEC §6).
import assert from "node:assert/strict";
import { test } from "node:test";

import { GameSocket } from "../../server/static/socket.js";
import { FakeClock } from "./fakes.mjs";

function liveSocket() {
  const clock = new FakeClock();
  const sent = [];
  const socket = new GameSocket({ api: {}, on: { message() {} }, clock });
  socket.ws = { send: (text) => sent.push(JSON.parse(text)) };
  socket.live = true;
  return { socket, sent, clock };
}

test("a gap asks for resync once, however many boards miss their base meanwhile", () => {
  const { socket, sent, clock } = liveSocket();
  socket.resync();
  socket.resync();
  clock.t += 1000;
  socket.resync();
  assert.deepEqual(sent, [{ type: "resync" }]);
});

test("once the snapshot came, the next gap asks again; an unanswered one is asked again later", () => {
  const { socket, sent, clock } = liveSocket();
  socket.resync();
  socket.received(JSON.stringify({ type: "snapshot", data: {} }));
  socket.resync();
  assert.equal(sent.length, 2);
  clock.t += 5001; // the answer never came (refused, lost)
  socket.resync();
  assert.equal(sent.length, 3);
});

test("a socket not yet live asks nothing", () => {
  const { socket, sent } = liveSocket();
  socket.live = false;
  socket.resync();
  assert.deepEqual(sent, []);
});
