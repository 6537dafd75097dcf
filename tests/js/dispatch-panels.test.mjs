// The desk panels' pure parts (pwa/static/dispatch/panels/model.js): alerts by kind, a message's
// length, the same-day order body, the closure body from a drawn area, re-plan answers, figures,
// the throttle of figure reloads; and the panels' house rules (small files, no hand-built HTML).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { format } from "../../pwa/static/kit/i18n.js";
import {
  ALERT_KINDS, MESSAGE_MAX, alertView, sortAlerts, mergeAlerts, checkMessage, sameDayOrderBody, closureBody,
  deskReference, replanOutcome, historyRows, trailView, figuresRows, ageText, clock, throttle, routesSignature,
  namer, dayCsvUrl, gpxUrl, mergeMessages, stopSignature,
} from "../../pwa/static/dispatch/panels/model.js";
import en from "../../pwa/static/dispatch/messages/panels-en.js";
import nl from "../../pwa/static/dispatch/messages/panels-nl.js";

const PANELS = new URL("../../pwa/static/dispatch/panels/", import.meta.url).pathname;
const translator = (cat) => (key, params) => (cat[key] === undefined ? key : format(cat[key], params));
const tEn = translator(en);
const tNl = translator(nl);

const state = {
  couriers: new Map([[7, { id: 7, name: "Anna", bikeName: "Cargo 3" }], [9, { id: 9, name: "Bas" }]]),
  stops: new Map([[41, { stopId: 41, reference: "WEB-41", address: "Kaivokatu 1" }]]),
  pickupPoints: [{ id: 3, name: "Kiosk Kamppi" }],
  routes: new Map([[7, { courierId: 7, id: 100, version: 2 }], [9, { courierId: 9, id: 101, version: 1 }]]),
};
const names = namer(state);

// --- alerts by kind -------------------------------------------------------------------------

const alert = (kind, data, extra = {}) => ({
  id: 1, hubId: 1, date: "2026-12-04", kind, key: "k", detail: "An English sentence.", data,
  raisedAt: "2026-12-04T10:15:00", acknowledgedAt: null, acknowledgedBy: null, ...extra,
});

test("every alert kind has a title and a sentence in both languages", () => {
  for (const kind of ALERT_KINDS) {
    for (const cat of [en, nl]) {
      assert.ok(cat[`panel.alert.${kind}`], `panel.alert.${kind}`);
      assert.ok(cat[`panel.alertKind.${kind}`], `panel.alertKind.${kind}`);
    }
  }
});

test("a late stop names the stop and its courier, and points at the stop", () => {
  const v = alertView(alert("stop_late", { stopId: 41, courierId: 7 }), { t: tEn, lang: "en", names });
  assert.equal(v.text, "Stop WEB-41, Kaivokatu 1 (Anna) is expected after its window.");
  assert.equal(v.title, "Late");
  assert.equal(v.raisedAt, "10:15");
  assert.equal(v.open, true);
  assert.deepEqual(v.target, { kind: "stop", id: 41 });
  assert.equal(v.note, "");
});

test("stops a re-plan left off every route: counted, the first few named, the lone stop pointed at", () => {
  const many = { planRunId: 9, count: 5, stopIds: [41, 42, 43, 44, 45], first: [{ stopId: 41, reason: "no_capacity" }, { stopId: 99 }] };
  const v = alertView(alert("stops_unplanned", many), { t: tEn, lang: "en", names });
  assert.equal(v.text, "A re-plan left 5 stops off every route: WEB-41, Kaivokatu 1; #99 and 3 more. Assign them by hand or move them to another day.");
  assert.equal(v.title, "Stops off every route");
  assert.equal(v.target, null);
  const one = { planRunId: 9, count: 1, stopIds: [41], stopId: 41, first: [{ stopId: 41, reason: "no_capacity" }] };
  const w = alertView(alert("stops_unplanned", one), { t: tNl, lang: "nl", names });
  assert.equal(w.text, "Een herplanning liet 1 stop zonder route: WEB-41, Kaivokatu 1. Wijs hem met de hand toe of verplaats hem naar een andere dag.");
  assert.deepEqual(w.target, { kind: "stop", id: 41 });
});

test("a route's late stops: one alert naming the first few and counting the others, in EN and NL", () => {
  const data = { courierId: 7, count: 5, stopIds: [41, 42, 43, 44, 45], first: [{ stopId: 41 }, { stopId: 99 }], minutes: 20 };
  const v = alertView(alert("stop_late", data), { t: tEn, lang: "en", names });
  assert.equal(v.text, "5 stops on Anna's route are expected after their window: WEB-41, Kaivokatu 1; #99 and 3 more.");
  assert.deepEqual(v.target, { kind: "courier", id: 7 });
  const one = alertView(alert("stop_late", { ...data, count: 1, first: [{ stopId: 41 }] }), { t: tNl, lang: "nl", names });
  assert.equal(one.text, "1 stop op de route van Anna wordt na het tijdvak verwacht: WEB-41, Kaivokatu 1.");
  assert.equal(one.title, "Te laat");
  const none = { ...data, count: 0, first: [], stopIds: [] };
  assert.equal(alertView(alert("stop_late", none), { t: tEn, names }).text,
    "No stop on Anna's route is expected after its window any more.");
  assert.equal(alertView(alert("stop_late", none), { t: tNl, names }).text,
    "Geen stop op de route van Anna wordt nog na het tijdvak verwacht.");
});

test("a short pick names what, where and for which order; without a bin it says no stock was found", () => {
  const atBin = alertView(alert("pick_short", { sku: "JAS-42", bin: "A03-12-2", orderId: 17, short: 2 }), { t: tEn, names });
  assert.equal(atBin.title, "Short pick");
  assert.equal(atBin.text, "2 × JAS-42 short at bin A03-12-2 (order 17).");
  const none = alertView(alert("pick_short", { sku: "JAS-42", orderId: 17, short: 1 }), { t: tNl, names });
  assert.equal(none.title, "Tekort bij picken");
  assert.equal(none.text, "1 × JAS-42 tekort voor order 17: geen voorraad in de hub of bij een partnerwinkel.");
});

test("a line moved to another bin and a line no tote takes each have their own sentence", () => {
  const data = { sku: "JAS-42", bin: "A03-12-2", movedTo: "A05-02-1", moved: 2, orderId: 17, short: 0, severity: "info" };
  const en = alertView(alert("pick_short", data), { t: tEn, names });
  assert.equal(en.title, "Line moved to another bin");
  assert.equal(en.text, "Bin A03-12-2 ran out: 2 × JAS-42 for order 17 moved to bin A05-02-1.");
  const nl = alertView(alert("pick_short", data), { t: tNl, names });
  assert.equal(nl.title, "Regel naar ander vak");
  assert.equal(nl.text, "Vak A03-12-2 was leeg: 2 × JAS-42 voor order 17 verplaatst naar vak A05-02-1.");
  const big = { sku: "SOFA", orderId: 9, short: 1, reason: "no_tote" };
  assert.equal(alertView(alert("pick_short", big), { t: tEn, names }).text,
    "1 × SOFA for order 9 does not fit on the cart (larger than a tote, or more totes than a cart): on no pick list, counted short.");
  assert.match(alertView(alert("pick_short", big), { t: tNl, names }).text, /^1 × SOFA voor order 9 past niet op de kar/);
});

test("alerts by kind in Dutch: courier, street and pickup point filled in", () => {
  const ctx = { t: tNl, lang: "nl", names };
  assert.equal(alertView(alert("no_position", { courierId: 9 }), ctx).text, "Bas stuurt al een tijd geen positie.");
  assert.deepEqual(alertView(alert("standing_still", { courierId: 9 }), ctx).target, { kind: "courier", id: 9 });
  assert.equal(alertView(alert("repeated_failures", { street: "Mannerheimintie" }), ctx).text,
    "Vandaag zijn drie of meer bezorgingen mislukt in Mannerheimintie.");
  assert.equal(alertView(alert("repeated_failures", { street: "Mannerheimintie" }), ctx).target, null);
  assert.equal(alertView(alert("pickup_point_full", { pickupPointId: 3 }), ctx).text, "Afhaalpunt Kiosk Kamppi is (bijna) vol.");
  assert.equal(alertView(alert("pickup_point_full", { pickupPointId: 99 }), ctx).text, "Afhaalpunt #99 is (bijna) vol.");
});

test("a re-plan not applied keeps the server's reason as a note; an unknown kind shows its sentence", () => {
  const r = alertView(alert("replan_not_applied", { planRunId: 5 }, { detail: "It would drop stop 12." }), { t: tEn, names });
  assert.equal(r.note, "It would drop stop 12.");
  const u = alertView(alert("battery_low", { courierId: 7 }, { detail: "Battery at 5 %." }), { t: tEn, names });
  assert.equal(u.text, "Battery at 5 %.");
  assert.equal(u.title, "Alert");
});

test("a wave not released names its cut-off in the desk's language and keeps the refusal as a note", () => {
  const refusal = "Order 12 asks for NOPE, which is not in the catalogue; add it first.";
  const w = alert("wave_not_released", { cutoff: "15:00", reason: refusal }, { detail: `The 15:00 wave ...: ${refusal}` });
  const en_ = alertView(w, { t: tEn, names });
  assert.equal(en_.title, "Wave not released");
  assert.match(en_.text, /^The 15:00 wave was not released on its own/);
  assert.ok(en_.note.endsWith(refusal));
  const nl_ = alertView(w, { t: tNl, lang: "nl", names });
  assert.equal(nl_.title, "Golf niet vrijgegeven");
  assert.match(nl_.text, /^De golf van 15:00 is niet vanzelf vrijgegeven/);
});

test("an earlier day's wave still open names its day in the desk's language", () => {
  const w = alert("wave_not_released", { cutoff: "15:00", date: "2026-12-04", reason: "r" }, { detail: "d" });
  assert.match(alertView(w, { t: tEn, names }).text, /^The 15:00 wave of 2026-12-04 is still open/);
  assert.match(alertView(w, { t: tNl, lang: "nl", names }).text, /^De golf van 15:00 op 2026-12-04 staat nog open/);
});

test("an acknowledged alert tells who and when; lists sort open first, newest first", () => {
  const acked = alert("no_position", { courierId: 7 }, {
    id: 2, acknowledgedAt: "2026-12-04T10:20:00", acknowledgedBy: { id: 4, name: "Dora" },
  });
  const v = alertView(acked, { t: tEn, lang: "en", names });
  assert.equal(v.open, false);
  assert.equal(tEn("panel.alerts.ackBy", { name: v.ackBy, at: v.ackAt }), "Acknowledged by Dora at 10:20.");
  const older = alert("stop_late", { stopId: 41 }, { id: 3, raisedAt: "2026-12-04T09:00:00" });
  const newer = alert("stop_late", { stopId: 41 }, { id: 4, raisedAt: "2026-12-04T11:00:00" });
  assert.deepEqual(sortAlerts(new Map([[2, acked], [3, older], [4, newer]])).map((a) => a.id), [4, 3, 2]);
  // The acknowledged list and the open list merged by id: the later (fresher) answer wins.
  const merged = mergeAlerts([older, acked], [{ ...older, acknowledgedAt: "2026-12-04T12:00:00" }]);
  assert.equal(merged.length, 2);
  assert.equal(merged.find((a) => a.id === 3).acknowledgedAt, "2026-12-04T12:00:00");
});

// --- a message's length -------------------------------------------------------------------------

test("a message: stripped, 1 to 500 characters, counted as characters, no control characters", () => {
  assert.deepEqual(checkMessage("   "), { text: "", length: 0, left: 500, ok: false, error: "panel.msg.empty" });
  const ok = checkMessage("  Please call the hub.\n ");
  assert.equal(ok.text, "Please call the hub.");
  assert.equal(ok.ok, true);
  assert.equal(ok.left, MESSAGE_MAX - 20);
  assert.equal(checkMessage("x".repeat(500)).ok, true);
  const long = checkMessage("x".repeat(501));
  assert.equal(long.error, "panel.msg.tooLong");
  assert.equal(long.left, -1);
  assert.equal(checkMessage("🚲".repeat(500)).ok, true, "an emoji is one character, not two UTF-16 units");
  assert.equal(checkMessage("line one\nline two").ok, true);
  assert.equal(checkMessage("bell\u0007").error, "panel.msg.control");
  assert.equal(checkMessage("<b>bold</b>").text, "<b>bold</b>", "HTML is plain text, kept as typed");
  assert.equal(tEn("panel.msg.over", { n: 1, max: 500 }), "1 character too many (at most 500).");
});

// --- the same-day order body ------------------------------------------------------------------

const ctx = { hubId: 2, date: "2026-12-04", now: new Date(2026, 11, 4, 14, 5, 9) };
const form = (extra = {}) => ({
  reference: "", customerName: " Mia ", address: "Fredrikinkatu 20", picked: null, slot: "evening",
  windowStart: "", windowEnd: "", parcels: "2", weightKg: "2.5", volumeL: "10", ...extra,
});

test("a same-day order with a slot: today's date, the hub, one parcel per count, a made-up reference", () => {
  const { body, error } = sameDayOrderBody(form(), ctx);
  assert.equal(error, undefined);
  assert.deepEqual(body, {
    reference: "DESK-20261204-140509", hubId: 2, customerName: "Mia", date: "2026-12-04", address: "Fredrikinkatu 20",
    parcels: [{ weightKg: 2.5, volumeL: 10 }, { weightKg: 2.5, volumeL: 10 }], slot: "evening",
  });
  assert.equal(deskReference(new Date(2026, 0, 2, 3, 4, 5)), "DESK-20260102-030405");
});

test("a same-day order with its own window and a picked suggestion sends the point", () => {
  const picked = { label: "Fredrikinkatu 20, 00120", lat: 60.1631, lon: 24.9369 };
  const { body } = sameDayOrderBody(form({
    reference: "WEB-9", address: picked.label, picked, slot: "window", windowStart: "18:00", windowEnd: "20:00",
  }), ctx);
  assert.equal(body.reference, "WEB-9");
  assert.deepEqual(body.window, { start: "18:00", end: "20:00" });
  assert.equal(body.slot, undefined);
  assert.equal(body.lat, 60.1631);
  assert.equal(body.lon, 24.9369);
  // The address typed over after picking: only the text goes, the server geocodes it.
  const typed = sameDayOrderBody(form({ address: "Fredrikinkatu 22", picked }), ctx).body;
  assert.equal(typed.lat, undefined);
  assert.equal(typed.address, "Fredrikinkatu 22");
});

test("a same-day order that cannot be sent says what to fix", () => {
  const err = (extra) => sameDayOrderBody(form(extra), ctx).error;
  assert.equal(err({ customerName: "  " }), "panel.order.needName");
  assert.equal(err({ address: "" }), "panel.order.needAddress");
  assert.equal(err({ parcels: "0" }), "panel.order.badParcels");
  assert.equal(err({ parcels: "1.5" }), "panel.order.badParcels");
  assert.equal(err({ parcels: "51" }), "panel.order.badParcels");
  assert.equal(err({ weightKg: "0" }), "panel.order.badWeight");
  assert.equal(err({ weightKg: "201" }), "panel.order.badWeight");
  assert.equal(err({ volumeL: "" }), "panel.order.badVolume");
  assert.equal(err({ slot: "window", windowStart: "18:00", windowEnd: "" }), "panel.order.badWindow");
  assert.equal(err({ slot: "window", windowStart: "18:00", windowEnd: "17:30" }), "panel.order.windowOrder");
  assert.equal(err({ slot: "night" }), "panel.order.needSlot");
  for (const key of ["needName", "needAddress", "badParcels", "badWeight", "badVolume", "badWindow", "windowOrder", "needSlot"]) {
    assert.ok(en[`panel.order.${key}`] && nl[`panel.order.${key}`], key);
  }
});

// --- the closure body ---------------------------------------------------------------------------

const area = [[60.16871234567, 24.9515], [60.1687, 24.9535], [60.1676, 24.9535], [60.1676, 24.95150000001]];

test("a closure of a drawn area: the corners as [lat, lon] to 6 decimals, local times of the day", () => {
  const { body } = closureBody({ reason: " market ", street: "", start: "10:00", end: "14:30" }, { date: "2026-12-04", area });
  assert.deepEqual(body, {
    reason: "market", start: "2026-12-04T10:00:00", end: "2026-12-04T14:30:00",
    zone: [[60.168712, 24.9515], [60.1687, 24.9535], [60.1676, 24.9535], [60.1676, 24.9515]],
  });
});

test("a closure of a street, and of a street within an area", () => {
  const street = closureBody({ reason: "works", street: " Kaivokatu ", start: "09:00", end: "12:00" }, { date: "2026-12-04", area: null });
  assert.deepEqual(street.body, { reason: "works", start: "2026-12-04T09:00:00", end: "2026-12-04T12:00:00", street: "Kaivokatu" });
  const stretch = closureBody({ reason: "works", street: "Kaivokatu", start: "09:00", end: "12:00" }, { date: "2026-12-04", area });
  assert.equal(stretch.body.street, "Kaivokatu");
  assert.equal(stretch.body.zone.length, 4);
});

test("a closure that cannot be sent says what to fix", () => {
  const err = (f, a = area) => closureBody({ reason: "x", street: "", start: "10:00", end: "11:00", ...f }, { date: "2026-12-04", area: a }).error;
  assert.equal(err({ reason: " " }), "panel.closure.needReason");
  assert.equal(err({ start: "10" }), "panel.closure.badTime");
  assert.equal(err({ end: "09:00" }), "panel.closure.timeOrder");
  assert.equal(err({ end: "10:00" }), "panel.closure.timeOrder");
  assert.equal(err({}, null), "panel.closure.needWhat");
  assert.equal(err({}, area.slice(0, 2)), "panel.closure.fewCorners");
  assert.equal(err({}, Array.from({ length: 201 }, (_, i) => [60 + i / 1e4, 24.9])), "panel.closure.manyCorners");
});

// --- re-plans, history, trail, figures ----------------------------------------------------------------

test("a re-plan answer in words: couriers changed, stops left, or not applied with the reason", () => {
  const done = replanOutcome({ applied: true, changedCouriers: [7, 9], unplanned: 0 });
  assert.equal(tEn(done.key, done.params), "Re-planned: 2 couriers got a new route.");
  const one = replanOutcome({ changedCouriers: [7], unplanned: 1 });
  assert.equal(tNl(one.key, one.params), "Herpland: 1 koerier kreeg een nieuwe route; 1 stop blijft ongepland.");
  const not = replanOutcome({ applied: false, detail: "It would take stop 3 off Anna's route.", changedCouriers: [] });
  assert.equal(not.kind, "error");
  assert.equal(tEn(not.key, not.params), "The re-plan was not applied, the routes stay as they are: It would take stop 3 off Anna's route.");
});

test("a stop's history: local time, translated state, who (with role) or the system", () => {
  const rows = historyRows([
    { at: "2026-12-04T08:01:00", state: "planned", by: null, detail: "" },
    { at: "2026-12-04T10:42:00", state: "delivered", by: { id: 3, name: "Anna", role: "courier" }, detail: "at the door" },
    { at: "2026-12-04T10:43:00", state: "weird_state", by: { id: 4, name: "Dora", role: "dispatcher" }, detail: "" },
  ], { t: tNl, lang: "nl" });
  assert.deepEqual(rows[0], { at: "08:01", state: "gepland", by: "het systeem", detail: "" });
  assert.deepEqual(rows[1], { at: "10:42", state: "bezorgd", by: "Anna (koerier)", detail: "at the door" });
  assert.equal(rows[2].state, "weird_state", "an unknown state shows as the server names it");
});

test("a courier's trail: speed, last position age, range left (low under 20 %)", () => {
  const v = trailView({
    courierId: 7, points: [[60.1, 24.9, "2026-12-04T10:00:00"]], riddenKm: 12.345, speedKmh: 17.6,
    lastPositionAgeS: 130, rangeKm: 60, rangeLeftKm: 10.2,
  }, { t: tEn, lang: "en" });
  assert.deepEqual(v, { ridden: "12.3 km", speed: "18 km/h", age: "2 min ago", rangeLeft: "10.2 km", range: "60 km", battery: "", low: true, points: 1 });
  const nlView = trailView({ riddenKm: 1.5, speedKmh: null, lastPositionAgeS: null, rangeKm: 60, rangeLeftKm: 58.5 }, { t: tNl, lang: "nl" });
  assert.equal(nlView.ridden, "1,5 km");
  assert.equal(nlView.speed, "–");
  assert.equal(nlView.age, "–");
  assert.equal(nlView.low, false);
  // A reported battery level shows beside the range left (which already counts from it).
  assert.equal(trailView({ riddenKm: 3, rangeKm: 40, rangeLeftKm: 17, batteryPct: 50 }, { t: tNl, lang: "nl" }).battery, "50 %");
  assert.equal(ageText(3725, tEn), "1 h 2 min ago");
  assert.equal(ageText(42, tNl), "42 s geleden");
});

test("the day's figures: shares as percentages, none counted as a dash", () => {
  const rows = Object.fromEntries(figuresRows({
    stopsTotal: 40, stopsDone: 30, stopsFailed: 2, stopsRemaining: 8, onTimeShare: 0.9333, firstAttemptShare: null,
    riddenKm: 81.25, co2AvoidedKg: 19.5, parcelsAtPickupPoints: 4, avgMinutesPerStop: 6.25,
  }, { lang: "en" }));
  assert.equal(rows["panel.fig.done"], "30 / 40");
  assert.equal(rows["panel.fig.onTime"], "93%");
  assert.equal(rows["panel.fig.firstAttempt"], "–");
  assert.equal(rows["panel.fig.ridden"], "81.3 km");
  assert.equal(rows["panel.fig.co2"], "19.5 kg");
  assert.equal(rows["panel.fig.perStop"], "6.3 min");
  assert.deepEqual(figuresRows(null, {}), []);
  assert.equal(dayCsvUrl(2, "2026-12-04"), "/hubs/2/day.csv?date=2026-12-04");
  assert.equal(gpxUrl(7, "2026-12-04"), "/couriers/7/trail.gpx?date=2026-12-04");
});

test("clock: the server's local time in the language's 24-hour clock", () => {
  assert.equal(clock("2026-12-04T09:05:00", "nl"), "09:05");
  assert.equal(clock("21:30", "en"), "21:30");
  assert.equal(clock(null, "en"), "–");
});

// --- reloads -------------------------------------------------------------------------------------

test("figures reload at most once per quiet time: first at once, the rest folded into one", () => {
  let now = 0;
  const later = [];
  const timer = { now: () => now, later: (fn, ms) => later.push({ fn, at: now + ms }) };
  let calls = 0;
  const soon = throttle(() => { calls += 1; }, 10_000, timer);
  soon();
  assert.equal(calls, 1);
  now = 2000; soon();
  now = 3000; soon();
  assert.equal(calls, 1);
  assert.equal(later.length, 1, "one trailing call for the burst");
  assert.equal(later[0].at, 10_000);
  now = 10_000; later[0].fn();
  assert.equal(calls, 2);
  now = 25_000; soon();
  assert.equal(calls, 3);
});

test("the routes' signature changes with a new route version; a stop's with its state", () => {
  const before = routesSignature(state);
  const after = routesSignature({ routes: new Map([[7, { courierId: 7, id: 102, version: 3 }], [9, { courierId: 9, id: 101, version: 1 }]]) });
  assert.notEqual(before, after);
  assert.equal(before, routesSignature({ routes: new Map([...state.routes].reverse()) }), "order of couriers does not matter");
  assert.notEqual(stopSignature({ status: "planned", state: "next" }), stopSignature({ status: "delivered", state: "done" }));
  const msgs = mergeMessages([{ id: 2, sentAt: "2026-12-04T10:00:00", text: "b" }], [{ id: 1, sentAt: "2026-12-04T09:00:00", text: "a" }, { id: 2, sentAt: "2026-12-04T10:00:00", text: "b" }]);
  assert.deepEqual(msgs.map((m) => m.id), [1, 2]);
});

// --- house rules -----------------------------------------------------------------------------------

test("panels: small files, markup only through escaping templates, every dialog labelled", () => {
  const files = readdirSync(PANELS).filter((f) => f.endsWith(".js"));
  assert.ok(files.includes("index.js"));
  for (const f of files) {
    const src = readFileSync(join(PANELS, f), "utf8");
    assert.ok(src.split("\n").length <= 400, `${f} is above 400 lines`);
    assert.doesNotMatch(src, /\.innerHTML\s*=|insertAdjacentHTML|document\.write|unsafeHTML/, f);
    assert.doesNotMatch(src, / style=/, `${f}: no inline style (CSP style-src 'self')`);
    if (f.endsWith("-dialog.js")) assert.match(src, /title\(t\("panel\.[a-z]+\.title"\)\)/, `${f}: a heading that labels the dialog`);
  }
  const index = readFileSync(join(PANELS, "index.js"), "utf8");
  for (const name of ["toolbar", "detailsPanel", "alertsPanel", "figuresPanel", "startPanels"]) {
    assert.match(index, new RegExp(`export (\\{ ${name} \\}|function ${name})`), name);
  }
});

test("a parcel scanned in at the wrong pickup point names the point and the parcel", () => {
  const v = alertView(alert("point_mismatch", { pickupPointId: 3, barcode: "LB-00000042" }), { t: tEn, lang: "en", names });
  assert.match(v.text, /was handed parcel LB-00000042, which is not announced there/);
  assert.equal(v.title, "Parcel at the wrong point");
});
