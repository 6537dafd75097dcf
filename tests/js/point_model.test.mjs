// The pickup-point app's view model (pwa/static/point/model.js): the customer's QR code,
// a typed code, the Today figures, and what a queued scan's answer means.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseQr, cleanCode, summary, scanOutcome, TABS, returnCode, announcedRows } from "../../pwa/static/point/model.js";

test("the customer's QR names the parcel and the code; a parcel label is no QR", () => {
  assert.deepEqual(parseQr("LBP:PA-1:012345"), { barcode: "PA-1", code: "012345" });
  assert.deepEqual(parseQr("  LBP:LB-00000042:999999 "), { barcode: "LB-00000042", code: "999999" });
  assert.equal(parseQr("PA-1"), null);
  assert.equal(parseQr("LBP:PA-1:12ab"), null);
  assert.equal(parseQr("LBP::123456"), null);
  assert.equal(parseQr(undefined), null);
});

test("a typed code keeps its digits only", () => {
  assert.equal(cleanCode(" 012 345 "), "012345");
  assert.equal(cleanCode("012-345"), "012345");
  assert.equal(cleanCode(null), "");
});

test("Today's figures from the day", () => {
  const day = {
    point: { capacity: 60 },
    announced: [
      { count: 3, room: 50, courier: { eta: "10:40" } },
      { count: 1, room: 55, courier: null },
    ],
    inPoint: [{ barcode: "A", lockedUntil: null }, { barcode: "B", lockedUntil: "2026-12-02T10:00:00" }],
    handedOut: [{ barcode: "C" }],
    toReturn: [{ barcode: "A" }],
    returnsCart: [{ code: "R-7KQ2MXPA" }, { code: "R-8KQ2MXPA" }],
  };
  const s = summary(day);
  assert.deepEqual(s, {
    announcedToday: 3, announcedTomorrow: 1, courierToday: "10:40", courierTomorrow: "",
    inPoint: 2, handedOut: 1, toReturn: 1, returnsCart: 2, roomToday: 50, roomTomorrow: 55, capacity: 60, locked: ["B"],
  });
  assert.equal(summary(null), null);
  assert.deepEqual(TABS, ["today", "scanIn", "handOut", "returns", "toReturn"]);
});

test("a queued scan's answer: on the shelf, already there, kept for later, or refused", () => {
  assert.deepEqual(scanOutcome(200, { result: "scanned_in" }), { kind: "ok", key: "scan.in" });
  assert.deepEqual(scanOutcome(200, { result: "already_in" }), { kind: "ok", key: "scan.already" });
  assert.equal(scanOutcome(503, {}).kind, "keep");
  assert.equal(scanOutcome(401, {}).kind, "keep");
  assert.equal(scanOutcome(409, { detail: "not announced" }).kind, "error");
});

test("a return code is read in capitals; a parcel label is no return code", () => {
  assert.equal(returnCode(" r-7kq2mxpa "), "R-7KQ2MXPA");
  assert.equal(returnCode("PA-1"), null);
  assert.equal(returnCode(""), null);
});

test("the announced parcels are listed one by one with their locker door, or none while one waits", () => {
  const day = {
    announced: [
      { parcels: [{ barcode: "LK-1", customer: "Mia", compartment: "A1" }, { barcode: "LK-2", customer: "Sam" }] },
      { parcels: [{ barcode: "LK-3", customer: "Ada", compartment: null }] },
    ],
  };
  assert.deepEqual(announcedRows(day), [
    { barcode: "LK-1", customer: "Mia", today: true, compartment: "A1" },
    { barcode: "LK-2", customer: "Sam", today: true, compartment: null },
    { barcode: "LK-3", customer: "Ada", today: false, compartment: null },
  ]);
  assert.deepEqual(announcedRows(null), []);
});
