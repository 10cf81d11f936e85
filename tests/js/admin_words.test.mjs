// The admin page's words and names (server/static/admin/admin-words.js, admin-names.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { NameBook } from "../../server/static/admin/admin-names.js";
import { changeLines, evidencePairs, valueText } from "../../server/static/admin/admin-words.js";

test("an audit change is one readable line a changed field", () => {
  assert.deepEqual(changeLines({ status: "active", score: 12 }, { status: "banned", score: 12 }), [
    "status: active → banned",
  ]);
  assert.deepEqual(changeLines({ score: 1500, round_score: 20 }, { score: 0, round_score: 0 }), [
    "score: 1,500 → 0",
    "round score: 20 → 0",
  ]);
  assert.deepEqual(changeLines(null, { intervention: 3 }), ["intervention: 3"]);
  assert.deepEqual(changeLines({ paused: true }, { paused: false, paused_seconds: 42 }), [
    "paused: yes → no",
    "paused for (s): 42",
  ]);
  assert.deepEqual(changeLines(null, null), []);
});

test("lists and objects are summed up in words, never dumped as JSON", () => {
  assert.equal(valueText({ mars: 10, venus: 5 }), "mars 10, venus 5");
  assert.equal(valueText([1, 2, 3, 4, 5, 6, 7]), "1, 2, 3, 4, 5 and 2 more");
  assert.equal(valueText([{ a: 1 }, { a: 2 }]), "2 items");
  assert.equal(valueText(null), "none");
  const note = { admin: "a", text: "x" };
  assert.deepEqual(changeLines({ notes: [note] }, { notes: [note, note] }), ["notes: 1 item → 2 items"]);
});

test("the detectors' figures are said in plain words, a variation as a share", () => {
  const evidence = { cv_interval: 0.0213, cv_count: null, pushes: 98, thresholds: { x: 1 } };
  const pairs = Object.fromEntries(evidencePairs(evidence));
  assert.equal(pairs["Variation in timing (near 0 % is machine-like)"], "2.1 %");
  assert.equal(pairs["Variation in clicks a push (near 0 % is machine-like)"], "–");
  assert.equal(pairs.Pushes, "98");
  assert.equal(Object.keys(pairs).length, 3);
});

test("a name two players share gets a short id beside it, and the lists hear of it", () => {
  const book = new NameBook();
  let told = 0;
  book.onChange(() => {
    told += 1;
  });
  book.learn([["aaaaaaaa-1", "Bob"]]);
  assert.equal(book.label("aaaaaaaa-1"), "Bob");
  assert.equal(told, 0);
  book.learn([["bbbbbbbb-2", "bob"]]); // the same letters in another case look the same
  assert.equal(told, 1);
  assert.equal(book.label("aaaaaaaa-1"), "Bob (aaaaaaaa)");
  assert.equal(book.label("bbbbbbbb-2", "bob"), "bob (bbbbbbbb)");
  book.learn([["bbbbbbbb-2", "Robert"]]); // renamed away: Bob is one player's again
  assert.equal(book.label("aaaaaaaa-1"), "Bob");
});

test("an id shown without a name gets the name learned elsewhere", () => {
  const book = new NameBook();
  let told = 0;
  book.onChange(() => {
    told += 1;
  });
  assert.equal(book.label("cccccccc-3"), "player cccccccc");
  book.learn([["cccccccc-3", "Carol"]]);
  assert.equal(told, 1);
  assert.equal(book.label("cccccccc-3"), "Carol");
});
