// The tracking page's texts (pwa/static/track-app/view.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { headline, whereText, choiceLabel, redirectBody, doneText, refusedText } from "../../pwa/static/track-app/view.js";
import { createI18n } from "../../pwa/static/kit/i18n.js";
import en from "../../pwa/static/track-app/messages/en.js";
import nl from "../../pwa/static/track-app/messages/nl.js";

const storage = (lang) => ({ getItem: () => lang, setItem() {} });
const t = createI18n({ en, nl }, { storage: storage("en") }).t;
const tNl = createI18n({ en, nl }, { storage: storage("nl") }).t;

test("the headline follows the status and the stops before yours", () => {
  assert.deepEqual(headline({ status: "planned" }, t), ["Planned", "Your parcel is on a courier's route for today."]);
  assert.deepEqual(headline({ status: "out_for_delivery", stopsAway: 0 }, t)[1], "You are the next stop.");
  assert.deepEqual(headline({ status: "out_for_delivery", stopsAway: 3 }, tNl)[1], "Nog 3 stops voor jou.");
  assert.deepEqual(headline({ status: "delivered", completedAt: "2026-11-23T14:07:12" }, t)[1], "Your parcel was delivered at 14:07. Thank you!");
  assert.deepEqual(headline({ status: "delivered", completedAt: "2026-11-23T14:07:12" }, tNl)[1], "Je pakket is om 14:07 bezorgd. Bedankt!");
  assert.deepEqual(headline({ status: "out_for_delivery", stopsAway: 1 }, t)[1], "1 stop before yours.");
  assert.deepEqual(headline({ status: "weird" }, t), ["weird", ""]);
});

test("where the parcel goes", () => {
  assert.equal(whereText({ address: "Kade 1" }, t), "Kade 1");
  assert.equal(whereText({ pickupPoint: { name: "Shop" }, pickupCode: "1234" }, tNl), "Afhaalpunt: Shop · afhaalcode 1234");
  const locker = { pickupPoint: { name: "Lockers" }, pickupCode: "1234", locker: { compartments: ["A1"], ready: true } };
  assert.equal(whereText(locker, t), "Pickup point: Lockers · in compartment A1 · pickup code 1234");
  assert.equal(whereText({ ...locker, locker: { compartments: ["B2"], ready: false } }, tNl),
    "Afhaalpunt: Lockers · vak B2 is ervoor gereserveerd · afhaalcode 1234");
});

test("choices and the request they make", () => {
  const w = { kind: "window", slot: "morning", start: "09:00", end: "12:00", window: { start: "x" } };
  assert.deepEqual(choiceLabel(w, tNl), ["Ochtend, 09:00–12:00", "Zelfde adres, ander tijdstip"]);
  const p = { kind: "pickup_point", name: "Shop", address: "Kade 2", distanceM: 1200, start: "14:00", closes: "24:00", pickupPointId: 4 };
  assert.deepEqual(choiceLabel(p, t, (n) => n.toLocaleString("en")), ["Shop", "Kade 2 · 1,200 m away · ready from about 14:00 · open all day"]);
  assert.deepEqual(redirectBody(p), { kind: "pickup_point", pickupPointId: 4 });
  assert.deepEqual(redirectBody({ kind: "address" }, "  Kade 3 "), { kind: "address", address: "Kade 3" });
  assert.deepEqual(redirectBody(w), { kind: "window", window: { start: "x" } });
});

test("the answers as sentences", () => {
  const win = { start: "14:00", end: "16:00" };
  assert.equal(doneText({ kind: "address", address: "Kade 3", window: win }, t),
    "Done: we bring your parcel to Kade 3 between 14:00 and 16:00.");
  assert.equal(doneText({ kind: "window", window: win }, tNl), "Geregeld: we brengen je pakket tussen 14:00 en 16:00.");
  assert.equal(refusedText({ suggestions: ["Kade 1", "Kade 10"] }, t), "That did not work; please try again. Did you mean: Kade 1; Kade 10?");
});

test("a missed delivery in plain words: where, until when, the code", async () => {
  const { missedText, dayText } = await import("../../pwa/static/track-app/view.js");
  const point = { kind: "pickup_point", pointName: "Kiosk", address: "Kade 1", hours: [{ opens: "08:00", closes: "21:00" }],
    until: "2026-12-11T23:59:00", code: "123456", window: null };
  const m = missedText({ at: "2026-12-06T10:40:00", reason: "not_home", now: point }, t, (x) => String(x).slice(-8, -3) || x,
    (iso) => dayText(iso, "en"));
  assert.equal(m.why, "We came by at 10:40. Nobody was home.");
  assert.equal(m.where, "Your parcel is waiting for you at Kiosk.");
  assert.equal(m.until, "Collect it by Friday, December 11");
  assert.equal(m.code, "123456");
  const nlText = missedText({ at: null, reason: "refused", now: { ...point, hours: [] } }, tNl, (x) => x, (iso) => dayText(iso, "nl"));
  assert.equal(nlText.why, "Het pakket werd geweigerd.");
  assert.equal(nlText.hours, "Die dag gesloten");
  assert.equal(nlText.until, "Ophalen uiterlijk vrijdag 11 december");
  const retry = missedText({ reason: "x", now: { kind: "retry", window: { start: "12:00", end: "20:00" }, address: "Kade 1" } }, t);
  assert.deepEqual([retry.why, retry.where, retry.code], ["", "We will try again today between 12:00 and 20:00.", ""]);
  assert.equal(missedText({ now: { kind: "hub", pointName: "Hub Centrum", hours: null } }, tNl).code, "");
  assert.equal(missedText({ now: null }, t).where, "We are deciding what happens next; this page updates by itself.");
});
