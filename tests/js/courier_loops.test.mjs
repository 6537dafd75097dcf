// Several loops a shift in the courier app (pwa/static/courier/loops.js): the reload ahead and the loading list per loop.
import { test } from "node:test";
import assert from "node:assert/strict";
import { reloadAhead, toLoadFor, byLoop, currentLoop } from "../../pwa/static/courier/loops.js";
import { createI18n } from "../../pwa/static/kit/i18n.js";
import en from "../../pwa/static/courier/messages/en.js";
import nl from "../../pwa/static/courier/messages/nl.js";

const stop = (stopId, loop, status = "planned") => ({ stopId, loop, status });
const item = (barcode, stopId, loop, loadOrder, loaded = false) => ({ barcode, stopId, loop, loadOrder, loaded });
const route = (stops) => ({
  stops,
  reloads: [{ loop: 2, arrival: "2026-12-09T10:40:00", departure: "2026-12-09T10:50:00", loadKg: 20, loadL: 40 }],
});
const loading = [item("A1", 1, 1, 2, true), item("B1", 2, 1, 1, true), item("C1", 3, 2, 2), item("D1", 4, 2, 1)];

test("when loop 1 is done, the next thing is back to the hub to load loop 2, with that loop's parcels", () => {
  const r = route([stop(1, 1, "delivered"), stop(2, 1, "failed"), stop(3, 2), stop(4, 2)]);
  const ahead = reloadAhead(r, loading);
  assert.equal(ahead.loop, 2);
  assert.equal(ahead.reload.departure, "2026-12-09T10:50:00");
  assert.deepEqual(ahead.items.map((l) => l.barcode), ["D1", "C1"]); // load order: the last delivery first
  assert.equal(currentLoop(r.stops), 2);
});

test("no reload ahead while riding a loop, before the first stop, or on a route of one loop", () => {
  assert.equal(reloadAhead(route([stop(1, 1, "delivered"), stop(2, 1), stop(3, 2)]), loading), null);
  assert.equal(reloadAhead(route([stop(1, 1), stop(2, 1), stop(3, 2)]), loading), null);
  assert.equal(reloadAhead({ stops: [{ stopId: 1, status: "delivered" }, { stopId: 2, status: "planned" }] }, []), null);
  assert.equal(reloadAhead(null, []), null);
});

test("before the shift only the first loop is to load; the list comes in loops, each by load order", () => {
  assert.equal(toLoadFor(loading, 1), 0);
  assert.equal(toLoadFor(loading, 2), 2);
  assert.equal(toLoadFor([{ barcode: "X", loadOrder: 1, loaded: false }], 1), 1); // a list from before loops
  assert.deepEqual(byLoop(loading).map((g) => [g.loop, g.items.map((l) => l.barcode)]), [[1, ["B1", "A1"]], [2, ["D1", "C1"]]]);
});

test("the reload card's words in English and Dutch", () => {
  const storage = (lang) => ({ getItem: () => lang, setItem() {} });
  const tEn = createI18n({ en, nl }, { storage: storage("en") }).t;
  const tNl = createI18n({ en, nl }, { storage: storage("nl") }).t;
  assert.equal(tEn("route.reloadTitle", { n: 2 }), "Back to the hub, load loop 2");
  assert.equal(tNl("route.reloadTitle", { n: 2 }), "Terug naar de hub, laad ronde 2");
  assert.equal(tEn("route.reloadWhen", { hub: "Hub", arrival: "10:40", departure: "10:50", count: 1, n: 2 }),
    "At Hub 10:40–10:50: 1 parcel for loop 2.");
});
