// The courier's view model (pure, tested with node --test): the day as the
// server last told it with the queued actions applied on top, the screen the
// address asks for, and the one-line text of a route change.
import { isOpen } from "./util.js";

/** The day as the courier should see it: the server's state with the queued actions applied on top. */
export function computeView(day, pending) {
  if (!day) return null;
  const v = structuredClone(day);
  const byId = new Map((v.route?.stops || []).map((s) => [s.stopId, s]));
  for (const item of pending) applyPending(v, item, item.stopId ? byId.get(item.stopId) : null);
  return v;
}

function applyPending(v, item, stop) {
  switch (item.kind) {
    case "shift_start":
      if (v.shift && v.shift.status === "planned") {
        v.shift.status = "started";
        v.shift.startedAt = v.shift.startedAt || item.createdAt;
        v.shift._pending = true;
      }
      break;
    case "shift_end":
      if (v.shift && v.shift.status !== "ended") {
        v.shift.status = "ended";
        v.shift.endedAt = item.createdAt;
        v.shift._pending = true;
      }
      break;
    case "scan": {
      const entry = (v.loading || []).find((l) => l.barcode === item.body.barcode);
      if (entry && !entry.loaded) {
        entry.loaded = true;
        entry._pending = true;
      }
      break;
    }
    case "arrive":
      if (stop && stop.status === "planned") {
        stop.status = "arrived";
        stop._pending = true;
      }
      break;
    case "deliver":
    case "collect":
      if (stop && isOpen(stop)) {
        stop.status = item.kind === "deliver" ? "delivered" : "collected";
        for (const p of stop.parcels || []) p.status = stop.status;
        stop._pending = true;
      }
      break;
    case "fail":
      if (stop && isOpen(stop)) {
        stop.status = "failed";
        stop.failReason = item.body.reason;
        stop._pending = true;
      }
      break;
    default:
      break;
  }
}

/** The screen the address (#/route, #/stop/7, #/stop/7/deliver ...) asks for. */
export function parseRoute(hash) {
  const parts = String(hash || "").replace(/^#\/?/, "").split("/").filter(Boolean);
  const name = parts[0] || "route";
  if (name === "stop" && parts[1]) {
    return { name: parts[2] ? "task" : "stop", stopId: Number(parts[1]), task: parts[2] || null };
  }
  return { name: ["route", "load", "map", "shift"].includes(name) ? name : "route" };
}

/** What changed on the route and why, in one line for the courier. */
export function routeChangeText(change, t) {
  if (!change) return t("route.changedByDispatch");
  const parts = [];
  if (change.added?.length) parts.push(t("route.added", { n: change.added.length }));
  if (change.removed?.length) parts.push(t("route.removed", { n: change.removed.length }));
  if (!parts.length) parts.push(t("route.reordered"));
  return t("route.changed", { parts: parts.join(", "), reason: change.reason });
}

/** Whether the stop list changed (not just new ETAs): then the loading list needs a refresh. */
export function stopsChanged(old, data) {
  const ids = (r) => (r?.stops || []).map((x) => x.stopId).join(",");
  return !old || !data || old.version !== data.version || ids(old) !== ids(data);
}

/** What is still missing before a deliver / fail / collect can be confirmed (empty: ready). */
export function taskMissing(task, stop, form, t) {
  const missing = [];
  if (task.kind === "deliver" || task.kind === "collect") {
    const left = (stop.parcels || []).filter((p) => !task.scanned.has(p.barcode)).length;
    if (left) missing.push(t("task.missing.parcels", { n: left }));
  }
  if (task.kind === "deliver") {
    if (task.proof === "signature" && form.signatureEmpty) missing.push(t("task.missing.signature"));
    if (task.proof === "photo" && !form.hasPhoto) missing.push(t("task.missing.photo"));
    if (task.proof === "recipient" && !form.recipientName) missing.push(t("task.missing.name"));
  }
  if (task.kind === "fail") {
    if (!task.reason) missing.push(t("task.missing.reason"));
    else if (task.reason === "other" && !form.note) missing.push(t("task.missing.note"));
  }
  return missing;
}

/** "2026-12-04" of the phone's clock. */
export function localDate(d = new Date()) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

export function nowLocal(d = new Date()) {
  const p = (n) => String(n).padStart(2, "0");
  return `${localDate(d)}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
