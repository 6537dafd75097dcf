// The dispatcher's desk store: a DeskDay snapshot in, events applied in order,
// stop display states, the reorder rule of the timeline.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createStore, stopState, reorder, PALETTE, courierSummary } from "../../pwa/static/dispatch/store.js";

const stop = (id, fields = {}) => ({
  stopId: id, orderId: 100 + id, reference: `R${id}`, kind: "delivery", address: `Street ${id}`,
  lat: 52 + id / 1000, lon: 4 + id / 1000, windowStart: "2026-12-04T09:00:00", windowEnd: "2026-12-04T12:00:00",
  eta: "2026-12-04T10:00:00", serviceStart: "2026-12-04T10:00:00", departure: "2026-12-04T10:03:00",
  status: "planned", orderStatus: "planned", ...fields,
});

const route = (courierId, id, version, stops) => ({
  id, version, date: "2026-12-04", courierId, start: "2026-12-04T08:00:00", end: "2026-12-04T16:00:00", stops,
});

function day() {
  return {
    seq: 10, date: "2026-12-04", now: "2026-12-04T09:30:00",
    hub: { id: 1, name: "Hub", lat: 52, lon: 4 },
    shops: [], pickupPoints: [],
    couriers: [
      { id: 7, name: "Anna", colour: "#1f6fd1", shiftStart: "2026-12-04T08:00:00", shiftEnd: "2026-12-04T16:00:00", routeId: 70 },
      { id: 8, name: "Bram", colour: "#c2410c", shiftStart: "2026-12-04T08:00:00", shiftEnd: "2026-12-04T16:00:00", routeId: 80 },
    ],
    routes: [
      route(7, 70, 1, [stop(1, { status: "delivered" }), stop(2), stop(3)]),
      route(8, 80, 1, [stop(4), stop(5, { eta: "2026-12-04T12:30:00", serviceStart: "2026-12-04T12:30:00" })]),
    ],
    unplanned: [{ stopId: 9, orderId: 109, reference: "R9", kind: "delivery", address: "Far 9", lat: 52, lon: 4,
      windowStart: "2026-12-04T09:00:00", windowEnd: "2026-12-04T10:00:00", reason: "too_heavy", detail: "heavier than any bike" }],
    positions: [{ courierId: 7, lat: 52.1, lon: 4.1, ts: "2026-12-04T09:29:00", accuracy: 10 }],
  };
}

test("a DeskDay loads: couriers, routes by courier, stops with their courier and state", () => {
  const store = createStore();
  const changes = [];
  store.subscribe((_, c) => changes.push(c));
  store.load(day());
  const s = store.getState();
  assert.equal(s.hub.name, "Hub");
  assert.deepEqual([...s.couriers.keys()], [7, 8]);
  assert.equal(s.routes.get(8).id, 80);
  assert.equal(s.stops.size, 5);
  assert.equal(s.stops.get(2).courierId, 7);
  assert.equal(s.stops.get(1).state, "done");
  assert.equal(s.stops.get(2).state, "next");
  assert.equal(s.stops.get(3).state, "planned");
  assert.equal(s.stops.get(5).state, "late");
  assert.equal(s.unplanned[0].reason, "too_heavy");
  assert.deepEqual(s.positions.get(7), { courierId: 7, lat: 52.1, lon: 4.1, ts: "2026-12-04T09:29:00", accuracy: 10 });
  assert.equal(changes.length, 1);
  assert.equal(changes[0].all, true);
});

test("the old hub snapshot without couriers still gives one courier per route, coloured from the palette", () => {
  const store = createStore();
  const d = day();
  delete d.couriers;
  store.load(d);
  const s = store.getState();
  assert.deepEqual([...s.couriers.keys()], [7, 8]);
  assert.equal(s.couriers.get(7).colour, PALETTE[0]);
  assert.equal(s.couriers.get(8).colour, PALETTE[1]);
  store.nameCouriers([{ id: 8, name: "Bram" }, { id: 99, name: "Elsewhere" }]);
  assert.equal(s.couriers.get(8).name, "Bram");
  assert.equal(s.couriers.has(99), false);
});

test("stop states: done, failed, redirected, late, next, planned", () => {
  assert.equal(stopState(stop(1, { status: "collected" })), "done");
  assert.equal(stopState(stop(1, { status: "failed" })), "failed");
  assert.equal(stopState(stop(1, { orderStatus: "redirected" })), "redirected");
  assert.equal(stopState(stop(1, { late: true }), true), "late");
  assert.equal(stopState(stop(1), false, "2026-12-04T12:01:00"), "late");
  assert.equal(stopState(stop(1), true, "2026-12-04T09:00:00"), "next");
  assert.equal(stopState(stop(1), false, "2026-12-04T09:00:00"), "planned");
});

test("a stop moved to another courier leaves the first courier's route and the unplanned list", () => {
  const store = createStore();
  store.load(day());
  const change = store.apply({ seq: 11, kind: "route.updated", data: route(8, 81, 2, [stop(4), stop(2), stop(5), stop(9)]) });
  store.apply({ seq: 12, kind: "route.updated", data: route(7, 71, 2, [stop(1, { status: "delivered" }), stop(3)]) });
  const s = store.getState();
  assert.equal(s.stops.get(2).courierId, 8);
  assert.equal(s.stops.get(2).index, 1);
  assert.equal(s.stops.get(9).courierId, 8);
  assert.deepEqual(s.unplanned, []);
  assert.equal(s.stops.get(3).state, "next");
  assert.ok(change.routes.has(8));
  assert.ok(change.unplanned);
  assert.equal(s.seq, 12);
});

test("an older route version is old news; unknown events change nothing", () => {
  const store = createStore();
  store.load(day());
  store.apply({ kind: "route.updated", data: route(7, 72, 3, [stop(2), stop(3)]) });
  store.apply({ kind: "route.updated", data: route(7, 70, 1, [stop(3)]) });
  assert.equal(store.getState().routes.get(7).version, 3);
  assert.equal(store.getState().stops.get(2).courierId, 7);
  let called = 0;
  store.subscribe(() => { called += 1; });
  store.apply({ kind: "something.new", data: {} });
  assert.equal(called, 0);
});

test("stop.updated: a delivered stop is done and the next one becomes next", () => {
  const store = createStore();
  store.load(day());
  const change = store.apply({ kind: "stop.updated", data: stop(2, { status: "delivered" }) });
  const s = store.getState();
  assert.equal(s.stops.get(2).state, "done");
  assert.equal(s.stops.get(3).state, "next");
  assert.equal(s.routes.get(7).stops[1].status, "delivered");
  assert.ok(change.stops.has(3));
  assert.deepEqual(courierSummary(s, 7), { done: 2, late: 0, total: 3 });
});

test("positions update only the couriers that moved", () => {
  const store = createStore();
  store.load(day());
  const change = store.apply({ kind: "position", data: [{ courierId: 8, lat: 52.2, lon: 4.2, ts: "t" }] });
  assert.deepEqual([...change.positions], [8]);
  assert.equal(store.getState().positions.get(8).lat, 52.2);
  assert.equal(store.getState().positions.get(7).lat, 52.1);
});

test("orders, plans, alerts and messages", () => {
  const store = createStore();
  store.load(day());
  store.apply({ kind: "order.cancelled", data: { orderId: 103 } });
  assert.equal(store.getState().stops.get(3).state, "redirected");
  store.apply({ kind: "order.cancelled", data: { orderId: 109 } });
  assert.deepEqual(store.getState().unplanned, []);
  store.apply({ kind: "plan.not_applied", data: { unplannedStops: [{ stopId: 20, reason: "no_capacity", detail: "full" }] } });
  assert.deepEqual(store.getState().unplanned, [{ stopId: 20, reason: "no_capacity", detail: "full" }]);
  store.apply({ kind: "alert.raised", data: { id: 5, kind: "stop_late", acknowledgedAt: null } });
  store.apply({ kind: "alert.acknowledged", data: { id: 5, kind: "stop_late", acknowledgedAt: "2026-12-04T10:00:00" } });
  assert.equal(store.getState().alerts.get(5).acknowledgedAt, "2026-12-04T10:00:00");
  store.setAlerts([{ id: 6, kind: "no_position" }]);
  assert.deepEqual([...store.getState().alerts.keys()], [6]);
  store.apply({ kind: "courier.message", data: { id: 1, courierId: 7, text: "<b>hi</b>" } });
  assert.equal(store.getState().messages[0].text, "<b>hi</b>");
});

test("selection, connection and the clock", () => {
  const store = createStore();
  store.load(day());
  store.select({ kind: "stop", id: 3 });
  assert.deepEqual(store.getState().selection, { kind: "stop", id: 3 });
  store.select(null);
  assert.equal(store.getState().selection, null);
  store.setConnection("live");
  assert.equal(store.getState().connection, "live");
  store.tick("2026-12-04T12:05:00");
  assert.equal(store.getState().stops.get(3).state, "late");
});

test("reorder: the moved stop goes before the target, done stops are left out", () => {
  const r = route(7, 70, 1, [stop(1, { status: "delivered" }), stop(2), stop(3), stop(4)]);
  assert.deepEqual(reorder(r, 4, 2), [4, 2, 3]);
  assert.deepEqual(reorder(r, 2, null), [3, 4, 2]);
  assert.deepEqual(reorder(r, 2, 4), [3, 2, 4]);
});

test("a snapshot of the same day after a reconnect changes only what differs; another day is drawn whole", () => {
  const store = createStore();
  const changes = [];
  store.subscribe((_, c) => changes.push(c));
  store.load(day());
  const again = day();
  again.routes[1] = route(8, 81, 2, [stop(5), stop(4, { status: "delivered" })]); // Bram's route was re-planned
  again.positions = [{ courierId: 7, lat: 52.2, lon: 4.2, ts: "2026-12-04T09:35:00", accuracy: 10 }];
  store.load(again);
  const c = changes.at(-1);
  assert.equal(c.all, undefined);
  assert.equal(c.snapshot, true);
  assert.deepEqual([...c.routes], [8]);
  assert.deepEqual([...c.couriers], [8]); // Anna unchanged
  assert.deepEqual([...c.stops].sort(), [4, 5]);
  assert.deepEqual([...c.positions], [7]);
  assert.equal(c.unplanned, undefined);
  assert.equal(store.getState().stops.get(4).state, "done");
  assert.equal(store.getState().routes.get(8).id, 81);
  store.load(day()); // the same again: stops 4 and 5 back, nothing else
  assert.deepEqual([...changes.at(-1).stops].sort(), [4, 5]);
  const other = day();
  other.date = "2026-12-05";
  store.load(other);
  assert.equal(changes.at(-1).all, true);
  const more = day();
  more.couriers.push({ id: 9, name: "Cas", colour: "#15803d", shiftStart: null, shiftEnd: null, routeId: null });
  store.load(more);
  assert.equal(changes.at(-1).all, true); // another courier: the rows change, drawn whole
});
