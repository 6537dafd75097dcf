// The courier app's view model (pwa/static/courier/model.js): queued actions shown on top of the server's day.
import { test } from "node:test";
import assert from "node:assert/strict";
import { computeView, parseRoute, routeChangeText, stopsChanged, taskMissing } from "../../pwa/static/courier/model.js";
import { windowText, matchBarcode } from "../../pwa/static/courier/util.js";
import { createI18n } from "../../pwa/static/kit/i18n.js";
import en from "../../pwa/static/courier/messages/en.js";
import nl from "../../pwa/static/courier/messages/nl.js";

const storage = (lang) => ({ getItem: () => lang, setItem() {} });
const t = createI18n({ en, nl }, { storage: storage("en") }).t;
const tNl = createI18n({ en, nl }, { storage: storage("nl") }).t;

const day = () => ({
  shift: { status: "planned" },
  loading: [{ barcode: "LB1", loaded: false }],
  route: { date: "2026-12-04", version: 1, stops: [
    { stopId: 1, status: "planned", parcels: [{ barcode: "LB1", status: "loaded" }] },
    { stopId: 2, status: "arrived", parcels: [] },
    { stopId: 3, status: "delivered", parcels: [] },
  ] },
});

test("queued actions show as done but not sent; the server's day is untouched", () => {
  const server = day();
  const v = computeView(server, [
    { kind: "shift_start", createdAt: "2026-12-04T08:00:00" },
    { kind: "scan", body: { barcode: "LB1" } },
    { kind: "deliver", stopId: 1 },
    { kind: "fail", stopId: 2, body: { reason: "not_home" } },
    { kind: "fail", stopId: 3, body: { reason: "refused" } }, // already delivered: not open, no change
  ]);
  assert.equal(v.shift.status, "started");
  assert.equal(v.shift._pending, true);
  assert.equal(v.loading[0].loaded, true);
  assert.deepEqual(v.route.stops.map((s) => [s.status, Boolean(s._pending)]),
    [["delivered", true], ["failed", true], ["delivered", false]]);
  assert.equal(v.route.stops[0].parcels[0].status, "delivered");
  assert.equal(server.shift.status, "planned");
  assert.equal(computeView(null, []), null);
});

test("the address picks the screen", () => {
  assert.deepEqual(parseRoute(""), { name: "route" });
  assert.deepEqual(parseRoute("#/load"), { name: "load" });
  assert.deepEqual(parseRoute("#/stop/7"), { name: "stop", stopId: 7, task: null });
  assert.deepEqual(parseRoute("#/stop/7/deliver"), { name: "task", stopId: 7, task: "deliver" });
  assert.deepEqual(parseRoute("#/nonsense"), { name: "route" });
});

test("a route change in one line, in both languages", () => {
  const change = { added: [1, 2], removed: [3], reason: "a courier is out of service" };
  assert.equal(routeChangeText(change, t), "Route changed (2 stops added, 1 stop taken off): a courier is out of service.");
  assert.equal(routeChangeText(change, tNl), "Route aangepast (2 stops erbij, 1 stop eraf): a courier is out of service.");
  assert.equal(routeChangeText(null, t), "Your route was changed by dispatch.");
});

test("new ETAs alone do not refresh the loading list", () => {
  const a = { version: 1, stops: [{ stopId: 1, eta: "x" }] };
  assert.equal(stopsChanged(a, { version: 1, stops: [{ stopId: 1, eta: "y" }] }), false);
  assert.equal(stopsChanged(a, { version: 2, stops: [{ stopId: 1 }] }), true);
  assert.equal(stopsChanged(a, { version: 1, stops: [{ stopId: 2 }] }), true);
});

test("what is missing before a stop can be confirmed", () => {
  const stop = { parcels: [{ barcode: "A" }, { barcode: "B" }] };
  const deliver = { kind: "deliver", scanned: new Set(["A"]), proof: "signature" };
  assert.deepEqual(taskMissing(deliver, stop, { signatureEmpty: true }, t), ["scan 1 more parcel", "the signature"]);
  deliver.scanned.add("B");
  assert.deepEqual(taskMissing(deliver, stop, { signatureEmpty: false }, t), []);
  const fail = { kind: "fail", scanned: new Set(), reason: "other" };
  assert.deepEqual(taskMissing(fail, stop, { note: "" }, tNl), ["een opmerking"]);
  assert.deepEqual(taskMissing({ ...fail, reason: null }, stop, {}, t), ["a reason"]);
});

test("time windows and barcodes", () => {
  assert.equal(windowText({ windowStart: "2026-12-04T09:00:00", windowEnd: "2026-12-04T11:30:00" }, t), "09:00–11:30");
  assert.equal(windowText({}, t), "any time");
  assert.equal(windowText({ windowStart: "2026-12-04T14:00:00" }, tNl), "vanaf 14:00");
  assert.equal(matchBarcode(" lb1 ", ["LB1", "LB2"]), "LB1");
  assert.equal(matchBarcode("LB9", ["LB1"]), null);
});

test("a window's times go through the locale's clock", () => {
  const clock = (x) => `<${x}>`;
  assert.equal(windowText({ windowStart: "2026-12-04T09:00:00", windowEnd: "2026-12-04T11:30:00" }, t, clock), "<09:00>–<11:30>");
  assert.equal(windowText({ windowEnd: "2026-12-04T11:30:00" }, tNl, clock), "tot <11:30>");
});
