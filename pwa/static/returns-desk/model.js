// The returns desk's pure parts: pictograms, where a batch stands (step-major), the timer, the
// buttons a step state allows. No DOM, no fetch: node-tested in tests/js/returns_desk.test.mjs.

// The core's pictogram names (backend/returns/templates.py) as large emoji; the step's
// words are their text alternative.
export const PICTOGRAMS = {
  "box-open": "📦", sparkles: "🧽", "washing-machine": "🧺", iron: "👕", plug: "🔌", wrench: "🔧",
  puzzle: "🧩", box: "🎁", camera: "📷", tag: "🏷️", "check-badge": "✅",
};
export const GRADES = ["A", "B", "C", "D", "scrap"];

export const pictogram = (name) => PICTOGRAMS[name] || "❓";

/** The buttons a step in ``state`` offers, in screen order. */
export function actionsFor(state) {
  if (state === "pending") return ["start"];
  if (state === "active") return ["done", "problem", "help"];
  if (state === "problem") return ["done", "resume", "help"];
  if (state === "help") return ["done", "resume"];
  return [];
}

/** Seconds a step has run: from its start to the server's now, plus what passed on this device since. */
export function elapsed(startedAt, serverNow, sinceFetchMs = 0) {
  if (!startedAt || !serverNow) return 0;
  const s = (Date.parse(serverNow) - Date.parse(startedAt) + sinceFetchMs) / 1000;
  return Math.max(0, Math.floor(s));
}

/** "m:ss" (or "h:mm:ss") for a timer. */
export function clock(seconds) {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = String(seconds % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** The words read aloud: the step's text in the language shown, else English. */
export function spoken(step, lang) {
  const text = step?.text || {};
  return text[lang] || text.en || "";
}

/** The inspection body from the answers given, the uploaded photos, a chosen grade, note and
 * disposition (where the grade allows more than one, e.g. D: repair or back to the supplier). */
export function inspectionBody(answers, photoIds, grade, note, disposition = "") {
  const body = { answers: { ...answers }, photoIds: [...photoIds], note: note || "" };
  if (grade) body.grade = grade;
  if (grade && disposition) body.disposition = disposition;
  return body;
}

/** The dispositions a grade may go to (the checklist's table); more than one: the inspector picks. */
export function dispositionsFor(checklist, grade) {
  return (checklist?.grades || []).find((g) => g.grade === grade)?.dispositions || [];
}

// Where an item ends in stock: the finish asks for a bin.
const STOCKED = new Set(["stock_new", "stock_graded"]);
// A repaired item leaves with the grade it has after the repair (backend/returns/finishing.py).
export const REGRADES = ["A", "B", "C"];

const isDone = (list) => list.steps.length > 0 && list.steps.every((s) => s.state === "done");

/** Where a batch stands. The steps come step-major, as the server's ``order`` says: step 1 of
 * every item, then step 2 of every item, … (the same step in a row); the first step in that
 * order not done yet is the one to show, with its item (``index``: 0-based, of ``total``).
 * Then each item's final check, then each item put away, then done. */
export function batchScreen(batch) {
  const items = batch?.items || [];
  if (!items.length) return { phase: "none" };
  const total = items.length;
  const order = batch.order || [];
  for (let k = 0; k < order.length; k++) {
    const index = items.findIndex((l) => l.status === "tasks" && l.steps.some((s) => s.id === order[k]));
    if (index < 0) continue;
    const list = items[index];
    const step = list.steps.find((s) => s.id === order[k]);
    if (step.state === "done") continue;
    return {
      phase: "step", list, index, total, step, n: step.n, steps: list.steps.length,
      actions: actionsFor(step.state), position: k + 1, of: order.length,
    };
  }
  const checking = items.findIndex((l) => l.status === "tasks" && !l.check && isDone(l));
  if (checking >= 0) return { phase: "check", list: items[checking], index: checking, total };
  const finishing = items.findIndex((l) => l.status === "checked");
  if (finishing >= 0) {
    const list = items[finishing];
    return { phase: "finish", list, index: finishing, total, bin: STOCKED.has(list.ends), regrade: Boolean(list.regrade) };
  }
  return { phase: "finished", total };
}

/** A batch of one item's list (opened on its own): its steps in their order. */
export function batchOf(list) {
  return { template: list.template || "", worker: list.worker ?? null, items: [list], order: list.steps.map((s) => s.id) };
}

/** The batch with one item's list replaced by the server's newer answer. */
export function withList(batch, list) {
  return { ...batch, items: batch.items.map((l) => (l.itemId === list.itemId ? list : l)) };
}

/** The supplier list (GET /returns-desk/supplier) as parcels: one per shop that sold the items
 * (an item of no known shop in a group of its own, last), shops by name, items as listed. */
export function bySupplier(items) {
  const groups = new Map();
  for (const item of items) {
    const shop = item.shop || "";
    if (!groups.has(shop)) groups.set(shop, []);
    groups.get(shop).push(item);
  }
  return [...groups.entries()]
    .map(([shop, list]) => ({ shop, items: list }))
    .sort((a, b) => (a.shop === "") - (b.shop === "") || a.shop.localeCompare(b.shop));
}

/**
 * What a message of the returns stream (/ws/returns) makes the desk read again, on the
 * ``screen`` shown with the batch at hand: ``tasks`` (the list of batches), ``item`` (an
 * item of the batch at hand whose list changed, e.g. handed to someone else), ``supplier``
 * (the supplier list). A snapshot or an event at or below ``seq`` (a repeat after a resume)
 * reloads nothing: the snapshot brings the batches itself.
 */
export function reloadsFor(msg, seq, screen, batch) {
  const none = { tasks: false, item: null, supplier: false };
  if (msg?.type !== "event" || (seq !== null && seq !== undefined && !(msg.seq > seq))) return none;
  const kind = String(msg.kind ?? "");
  const item = msg.data?.itemId;
  const held = (batch?.items ?? []).some((l) => l.itemId === item);
  return {
    tasks: screen === "tasks" && ["return.assigned", "return.inspected", "return.finished"].includes(kind),
    item: screen === "task" && held && kind === "return.assigned" ? item : null,
    supplier: screen === "supplier" && ["return.finished", "return.shipped"].includes(kind),
  };
}
