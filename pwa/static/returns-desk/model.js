// The returns desk's pure parts: pictograms, the step screen's view, the timer, the
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

/** What the task screen shows for an item's list: a step, the final check, the finish, or done. */
export function screenOf(list) {
  if (!list) return { phase: "none" };
  if (list.status === "finished") return { phase: "finished" };
  if (list.status === "failed") return { phase: "failed" };
  if (list.current) {
    const total = list.steps.length;
    return { phase: "step", step: list.current, n: list.current.n, total, actions: actionsFor(list.current.state) };
  }
  if (!list.check && list.steps.length) return { phase: "check" };
  return { phase: "finish" };
}

/** The words read aloud: the step's text in the language shown, else English. */
export function spoken(step, lang) {
  const text = step?.text || {};
  return text[lang] || text.en || "";
}

/** The inspection body from the answers given, the uploaded photos, a chosen grade and note. */
export function inspectionBody(answers, photoIds, grade, note) {
  const body = { answers: { ...answers }, photoIds: [...photoIds], note: note || "" };
  if (grade) body.grade = grade;
  return body;
}
