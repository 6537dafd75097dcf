// Messages from dispatch in the courier app (pwa/static/courier/inbox.js): kept once, newest last, dismissable.
import { test } from "node:test";
import assert from "node:assert/strict";
import { addMessage, dismissMessage, rememberDismissed, bannerTitle, MAX_SHOWN, MAX_DISMISSED } from "../../pwa/static/courier/inbox.js";
import { createI18n } from "../../pwa/static/kit/i18n.js";
import en from "../../pwa/static/courier/messages/en.js";
import nl from "../../pwa/static/courier/messages/nl.js";

const storage = (lang) => ({ getItem: () => lang, setItem() {} });
const t = createI18n({ en, nl }, { storage: storage("en") }).t;
const tNl = createI18n({ en, nl }, { storage: storage("nl") }).t;
const msg = (id, text = `m${id}`) => ({
  id, courierId: 3, text, sentAt: "2026-12-04T10:15:00", sentBy: { id: 9, name: "Desk" },
});

test("a message is kept once, as the server sent its text, newest last", () => {
  const html = '<img src=x onerror="alert(1)"> call the hub';
  let list = addMessage([], msg(1, html));
  assert.deepEqual(list, [{ id: 1, text: html, sentAt: "2026-12-04T10:15:00", sentBy: "Desk" }]);
  assert.equal(addMessage(list, msg(1, html)), list); // a replayed event changes nothing
  list = addMessage(list, msg(2));
  assert.deepEqual(list.map((m) => m.id), [1, 2]);
  assert.equal(addMessage(list, { id: 3 }), list); // not a message: ignored
  assert.equal(addMessage(list, null), list);
});

test("at most a handful stay on screen; dismissing takes one away", () => {
  let list = [];
  for (let i = 1; i <= MAX_SHOWN + 2; i++) list = addMessage(list, msg(i));
  assert.equal(list.length, MAX_SHOWN);
  assert.equal(list[0].id, 3);
  list = dismissMessage(list, 5);
  assert.deepEqual(list.map((m) => m.id), [3, 4, 6, 7]);
  assert.deepEqual(dismissMessage(list, 99), list);
});

test("the banner says who sent it and when, in English and Dutch", () => {
  const clock = (iso) => iso.slice(11, 16);
  const [m] = addMessage([], msg(1));
  assert.equal(bannerTitle(m, t, clock), "Message from Desk · 10:15");
  assert.equal(bannerTitle(m, tNl, clock), "Bericht van Desk · 10:15");
  assert.equal(bannerTitle({ ...m, sentBy: null, sentAt: null }, tNl, clock), "Bericht van de planning");
  assert.equal(t("dispatch.dismiss"), "Dismiss the message from dispatch");
});

test("a dismissed message replayed on resume stays dismissed", () => {
  let list = addMessage([], msg(1));
  list = dismissMessage(list, 1);
  const dismissed = rememberDismissed([], 1);
  assert.deepEqual(addMessage(list, msg(1), dismissed), []);
  assert.equal(addMessage(list, msg(2), dismissed).length, 1); // another message still comes
  let many = [];
  for (let i = 1; i <= MAX_DISMISSED + 3; i++) many = rememberDismissed(many, i);
  assert.equal(many.length, MAX_DISMISSED);
  assert.equal(many.at(-1), MAX_DISMISSED + 3);
  assert.deepEqual(rememberDismissed([1, 2], 1), [2, 1]); // no id twice
});
