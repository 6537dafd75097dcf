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
