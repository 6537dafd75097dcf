// The Returns panel's pure part: ISO weeks (year ends included), the range asked for, the bars.
import { test } from "node:test";
import assert from "node:assert/strict";
import { isoWeek, weekRange, bars, figuresCsvUrl, shortWeek } from "../../pwa/static/dispatch/panels/returns-model.js";

test("ISO weeks, also across a year's end", () => {
  assert.equal(isoWeek("2026-12-05"), "2026-W49");
  assert.equal(isoWeek("2027-01-01"), "2026-W53");
  assert.equal(isoWeek("2024-12-30"), "2025-W01");
  assert.equal(isoWeek("2026-01-05"), "2026-W02");
  assert.equal(isoWeek("nope"), null);
});

test("the range ends with the desk's week and spans n weeks", () => {
  assert.deepEqual(weekRange("2026-12-05", 8), { from: "2026-W42", to: "2026-W49" });
  assert.deepEqual(weekRange("2026-01-07", 3), { from: "2025-W52", to: "2026-W02" });
  assert.equal(weekRange(undefined), null);
  assert.equal(figuresCsvUrl(3, { from: "2026-W42", to: "2026-W49" }),
    "/hubs/3/returns/figures.csv?from=2026-W42&to=2026-W49&table=rates");
});

test("bars scale to the largest value; none or null draws no bar", () => {
  const weeks = [{ week: "2026-W01", rate: 0.5 }, { week: "2026-W02", rate: null }, { week: "2026-W03", rate: 0.25 }];
  const got = bars(weeks, (w) => w.rate, { width: 300, height: 100, gap: 0 });
  assert.deepEqual(got.map((b) => [b.x, b.w, b.h, b.y]), [[0, 100, 100, 0], [100, 100, 0, 100], [200, 100, 50, 50]]);
  assert.deepEqual(bars([], (w) => w.rate), []);
  assert.equal(shortWeek("2026-W07"), "W07");
});
