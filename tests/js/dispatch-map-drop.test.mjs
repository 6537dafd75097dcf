// Which stop a press on the desk's map takes (pwa/static/dispatch/map-drop.js): the nearest
// circle within the hit radius, none farther away.
import { test } from "node:test";
import assert from "node:assert/strict";
import { stopNear } from "../../pwa/static/dispatch/map-drop.js";

// A flat "projection": a stop's lat/lon are its pixels.
const project = (s) => ({ x: s.lon, y: s.lat });
const stops = [
  { stopId: 1, lat: 100, lon: 100 },
  { stopId: 2, lat: 104, lon: 100 },
  { stopId: 3, lat: null, lon: null }, // not placed: never taken
  { stopId: 4, lat: 300, lon: 300 },
];

test("a press takes the nearest stop within the hit radius", () => {
  assert.equal(stopNear(stops, project, { x: 100, y: 101 })?.stopId, 1);
  assert.equal(stopNear(stops, project, { x: 100, y: 103.5 })?.stopId, 2);
  assert.equal(stopNear(stops.values(), project, { x: 306, y: 308 })?.stopId, 4); // 10 px: still in
});

test("a press away from every stop takes none", () => {
  assert.equal(stopNear(stops, project, { x: 200, y: 200 }), null);
  assert.equal(stopNear(stops, project, { x: 308, y: 308 }), null); // 11.3 px
  assert.equal(stopNear([], project, { x: 0, y: 0 }), null);
  assert.equal(stopNear(stops, project, { x: 100, y: 120 }, 20)?.stopId, 2); // a wider radius
});
