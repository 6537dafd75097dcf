// The desk's Settings dialog, its pure part (pwa/static/dispatch/panels/settings-model.js):
// the API's answers as form fields and the forms as the bodies sent back.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  pickingForm, pickingBody, numberOf, scannerForm, scannerBody, packingForm, packingBody, shopChoices,
} from "../../pwa/static/dispatch/panels/settings-model.js";

test("the picking settings round trip through the form, numbers typed with a comma too", () => {
  const form = pickingForm({ hubId: 1, mode: "pick_then_sort", cart: { totes: 6, toteVolume: 40, toteWeight: 12.5 } });
  assert.deepEqual(form, { mode: "pick_then_sort", totes: "6", toteVolume: "40", toteWeight: "12.5", leadMinutes: "120" });
  form.toteWeight = "13,5";
  form.leadMinutes = "90";
  assert.deepEqual(pickingBody(form), {
    body: { mode: "pick_then_sort", cart: { totes: 6, toteVolume: 40, toteWeight: 13.5 }, leadMinutes: 90 },
  });
  assert.deepEqual(pickingBody({ ...form, leadMinutes: "1,5" }), { error: "panel.settings.wholeNumber", field: "leadMinutes" });
  assert.equal(pickingForm({ mode: "zigzag" }).mode, "sort_while_picking"); // an unknown mode: the default shown
});

test("a number that is none is named before anything is sent; ranges are the server's", () => {
  assert.deepEqual(pickingBody({ mode: "sort_while_picking", totes: "8.5", toteVolume: "40", toteWeight: "15" }),
    { error: "panel.settings.wholeNumber", field: "totes" });
  assert.deepEqual(pickingBody({ mode: "sort_while_picking", totes: "8", toteVolume: "veel", toteWeight: "15" }),
    { error: "panel.settings.number", field: "toteVolume" });
  assert.deepEqual(pickingBody({ mode: "sort_while_picking", totes: "0", toteVolume: "40", toteWeight: "-1", leadMinutes: "60" }).body.cart,
    { totes: 0, toteVolume: 40, toteWeight: -1 }); // the server answers 0 totes with its sentence
  assert.equal(numberOf(" "), null);
  assert.equal(numberOf("1e3"), null);
});

test("the scanner's prefix and suffix are sent as typed", () => {
  assert.deepEqual(scannerForm({ hubId: 1, prefix: "$", suffix: null }), { prefix: "$", suffix: "" });
  assert.deepEqual(scannerBody({ prefix: " $", suffix: "#" }), { prefix: " $", suffix: "#" });
});

test("a shop's packing options: no card, no message", () => {
  const form = packingForm({ shopId: 3, brandedBox: true, card: true, cardMessage: "Fijne dag!", giftWrap: false });
  assert.deepEqual(packingBody(form), { brandedBox: true, card: true, cardMessage: "Fijne dag!", giftWrap: false });
  form.card = false;
  assert.deepEqual(packingBody(form), { brandedBox: true, card: false, cardMessage: "", giftWrap: false });
  assert.deepEqual(packingForm(null), { brandedBox: false, card: false, cardMessage: "", giftWrap: false });
});

test("the shops to choose from, by name", () => {
  const state = { shops: [{ id: 2, name: "Vase shop" }, { id: 1, name: "Bakery" }, null] };
  assert.deepEqual(shopChoices(state).map((s) => s.id), [1, 2]);
  assert.deepEqual(shopChoices({}), []);
});
