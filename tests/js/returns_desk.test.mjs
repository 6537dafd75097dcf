// The returns desk's pure parts (pwa/static/returns-desk/model.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { PICTOGRAMS, actionsFor, batchOf, batchScreen, clock, elapsed, inspectionBody, pictogram, spoken } from "../../pwa/static/returns-desk/model.js";

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

test("one item on its own: a step, then the final check, then finishing", () => {
  const step = { id: "5/2", n: 2, state: "active", pictogram: "iron", text: { en: "Iron", nl: "Strijken" } };
  const steps = [{ id: "5/1", n: 1, state: "done" }, step, { id: "5/3", n: 3, state: "pending" }];
  const list = { itemId: 5, status: "tasks", steps, check: null, ends: "stock_graded" };
  const s = batchScreen(batchOf(list));
  assert.deepEqual([s.phase, s.step, s.n, s.steps, s.index, s.total], ["step", step, 2, 3, 0, 1]);
  assert.deepEqual(s.actions, ["done", "problem", "help"]);
  const allDone = steps.map((x) => ({ ...x, state: "done" }));
  assert.equal(batchScreen(batchOf({ ...list, steps: allDone })).phase, "check");
  const put = batchScreen(batchOf({ ...list, steps: allDone, status: "checked", check: { passed: true } }));
  assert.deepEqual([put.phase, put.bin, put.regrade], ["finish", true, false]);
  assert.equal(batchScreen(batchOf({ ...list, status: "finished" })).phase, "finished");
  assert.equal(batchScreen(batchOf({ itemId: 6, status: "checked", steps: [], ends: "recycled" })).bin, false);
  assert.equal(spoken(step, "nl"), "Strijken");
  assert.equal(spoken(step, "fr"), "Iron");
});

test("the inspection body leaves the grade to the checklist unless one was chosen", () => {
  assert.deepEqual(inspectionBody({ worn: true }, ["p1"], "", ""), { answers: { worn: true }, photoIds: ["p1"], note: "" });
  assert.equal(inspectionBody({}, [], "B", "x").grade, "B");
});

test("a D item's dispositions come from the checklist; the body carries the one chosen", async () => {
  const { dispositionsFor } = await import("../../pwa/static/returns-desk/model.js");
  const checklist = { grades: [{ grade: "B", dispositions: ["outlet"] }, { grade: "D", dispositions: ["repair", "supplier"] }] };
  assert.deepEqual(dispositionsFor(checklist, "D"), ["repair", "supplier"]);
  assert.deepEqual(dispositionsFor(checklist, ""), []);
  assert.equal(inspectionBody({}, [], "D", "", "supplier").disposition, "supplier");
  assert.equal(inspectionBody({}, [], "", "", "supplier").disposition, undefined);  // no grade: the table's default
});

test("a batch is worked step-major: step 1 of each item, then step 2 of each, then checks, then put away", async () => {
  const { batchScreen, withList } = await import("../../pwa/static/returns-desk/model.js");
  const list = (itemId, extra = {}) => ({
    itemId, status: "tasks", check: null, ends: "supplier", regrade: false,
    steps: [1, 2].map((n) => ({ id: `${itemId}/${n}`, n, state: "pending" })), ...extra,
  });
  let batch = { items: [list(7), list(9)], order: ["7/1", "9/1", "7/2", "9/2"] };
  const seen = [];
  for (let guard = 0; guard < 10; guard++) {
    const s = batchScreen(batch);
    if (s.phase !== "step") break;
    seen.push(`${s.list.itemId}/${s.n} (${s.index + 1} of ${s.total})`);
    const steps = s.list.steps.map((st) => (st.id === s.step.id ? { ...st, state: "done" } : st));
    batch = withList(batch, { ...s.list, steps });
  }
  assert.deepEqual(seen, ["7/1 (1 of 2)", "9/1 (2 of 2)", "7/2 (1 of 2)", "9/2 (2 of 2)"]);
  let s = batchScreen(batch);
  assert.equal(s.phase, "check");
  assert.equal(s.list.itemId, 7);
  batch = withList(batch, { ...s.list, status: "checked", check: { passed: true } });
  assert.equal(batchScreen(batch).list.itemId, 9);
  batch = withList(batch, { ...batchScreen(batch).list, status: "failed", check: { passed: false } });
  s = batchScreen(batch);
  assert.deepEqual([s.phase, s.list.itemId, s.bin, s.regrade], ["finish", 7, false, false]);
  batch = withList(batch, { ...s.list, status: "finished" });
  assert.equal(batchScreen(batch).phase, "finished");
  const repaired = batchScreen({ items: [list(3, { status: "checked", ends: "stock_graded", regrade: true })], order: [] });
  assert.deepEqual([repaired.bin, repaired.regrade], [true, true]);
});

test("the supplier list becomes one parcel per shop, the items of no known shop last", async () => {
  const { bySupplier } = await import("../../pwa/static/returns-desk/model.js");
  const items = [
    { itemId: 3, shop: "Zeeman" }, { itemId: 4, shop: null }, { itemId: 5, shop: "Modehuis" }, { itemId: 6, shop: "Zeeman" },
  ];
  assert.deepEqual(bySupplier(items).map((p) => [p.shop, p.items.map((i) => i.itemId)]), [
    ["Modehuis", [5]], ["Zeeman", [3, 6]], ["", [4]],
  ]);
  assert.deepEqual(bySupplier([]), []);
});

test("a list handed over is read again where it shows; repeats and other news are not", async () => {
  const { reloadsFor } = await import("../../pwa/static/returns-desk/model.js");
  const given = { type: "event", seq: 8, kind: "return.assigned", data: { itemId: 5, worker: "bo" } };
  const batch = { items: [{ itemId: 5 }, { itemId: 6 }] };
  assert.deepEqual(reloadsFor(given, 7, "tasks", null), { tasks: true, item: null, supplier: false });
  assert.deepEqual(reloadsFor(given, 7, "task", batch), { tasks: false, item: 5, supplier: false });
  assert.deepEqual(reloadsFor(given, 7, "task", { items: [{ itemId: 9 }] }), { tasks: false, item: null, supplier: false });
  assert.deepEqual(reloadsFor(given, 8, "tasks", null), { tasks: false, item: null, supplier: false }); // a repeat
  const shipped = { type: "event", seq: 9, kind: "return.shipped", data: { items: [5] } };
  assert.deepEqual(reloadsFor(shipped, 8, "supplier", null), { tasks: false, item: null, supplier: true });
  assert.deepEqual(reloadsFor({ type: "snapshot", seq: 9, data: {} }, null, "tasks", null), { tasks: false, item: null, supplier: false });
});
