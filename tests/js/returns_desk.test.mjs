// The returns desk's pure parts (pwa/static/returns-desk/model.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { PICTOGRAMS, actionsFor, clock, elapsed, inspectionBody, pictogram, screenOf, spoken } from "../../pwa/static/returns-desk/model.js";

test("every step state offers its buttons; done offers none", () => {
  assert.deepEqual(actionsFor("pending"), ["start"]);
  assert.deepEqual(actionsFor("active"), ["done", "problem", "help"]);
  assert.deepEqual(actionsFor("help"), ["done", "resume"]);
  assert.deepEqual(actionsFor("done"), []);
});

test("the core's pictograms all have a picture; an unknown one a question mark", () => {
  for (const name of ["box-open", "sparkles", "washing-machine", "iron", "plug", "wrench", "puzzle", "box", "camera", "tag", "check-badge"]) {
    assert.ok(PICTOGRAMS[name], name);
  }
  assert.equal(pictogram("nope"), "❓");
});

test("the timer runs from the server's start with the server's clock", () => {
  assert.equal(elapsed("2026-12-05T10:00:00", "2026-12-05T10:01:05", 2000), 67);
  assert.equal(elapsed(null, "2026-12-05T10:00:00"), 0);
  assert.equal(clock(67), "1:07");
  assert.equal(clock(3725), "1:02:05");
});

test("the screen: a step, then the final check, then finishing", () => {
  const step = { n: 2, state: "active", pictogram: "iron", text: { en: "Iron", nl: "Strijken" } };
  const list = { status: "tasks", steps: [{}, {}, {}], current: step, check: null };
  assert.deepEqual(screenOf(list), { phase: "step", step, n: 2, total: 3, actions: ["done", "problem", "help"] });
  assert.equal(screenOf({ ...list, current: null }).phase, "check");
  assert.equal(screenOf({ ...list, current: null, check: { passed: true } }).phase, "finish");
  assert.equal(screenOf({ ...list, status: "finished" }).phase, "finished");
  assert.equal(spoken(step, "nl"), "Strijken");
  assert.equal(spoken(step, "fr"), "Iron");
});

test("the inspection body leaves the grade to the checklist unless one was chosen", () => {
  assert.deepEqual(inspectionBody({ worn: true }, ["p1"], "", ""), { answers: { worn: true }, photoIds: ["p1"], note: "" });
  assert.equal(inspectionBody({}, [], "B", "x").grade, "B");
});
