// The panels' pure parts: view models and request bodies from plain values.
// No DOM, no fetch: node-tested in tests/js/dispatch-panels.test.mjs.

export const MESSAGE_MAX = 500;
export const ALERT_KINDS = [
  "stop_late", "no_position", "standing_still", "repeated_failures", "pickup_point_full", "replan_not_applied", "pick_short",
  "point_mismatch",
  "returns_help",
  "wave_not_released",
  "stops_unplanned",
];
export const SLOTS = ["morning", "afternoon", "evening", "day"];
export const ZONE_MAX_CORNERS = 200;

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;
// Control characters other than tab, line feed and carriage return (which a message may hold).
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

const CLOCKS = new Map(); // lang → formatter (Intl formatters are slow to make; the alerts list draws many clocks)
/** A server time ("09:28" or "2026-12-04T09:28:18") as HH:MM in the language's 24-hour clock. */
export function clock(value, lang = "en") {
  const m = /(?:^|T)(\d{2}):(\d{2})/.exec(String(value ?? ""));
  if (!m) return "–";
  const at = Date.UTC(2000, 0, 1, Number(m[1]), Number(m[2]));
  let f = CLOCKS.get(lang);
  if (!f) CLOCKS.set(lang, (f = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: "UTC" })));
  return f.format(at);
}

/** A number in the language's notation, with ``digits`` decimals; "–" when there is none. */
export function num(value, lang = "en", digits = 1) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return "–";
  return new Intl.NumberFormat(lang, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(Number(value));
}

/** A share 0..1 as a whole percentage ("87 %"), "–" when nothing was counted. */
export function percent(share, lang = "en") {
  if (share === null || share === undefined) return "–";
  return new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 0 }).format(Number(share));
}

/** A message to a courier as typed: the text sent (stripped), its length, what is left, and what is wrong. */
export function checkMessage(raw) {
  const text = String(raw ?? "").trim();
  const length = [...text].length; // characters, as the server counts them (not UTF-16 units)
  let error = null;
  if (!length) error = "panel.msg.empty";
  else if (length > MESSAGE_MAX) error = "panel.msg.tooLong";
  else if (CONTROL.test(text)) error = "panel.msg.control";
  return { text, length, left: MESSAGE_MAX - length, ok: error === null, error };
}

/** A reference for an order taken at the desk: DESK-<yyyymmdd>-<hhmmss> from the clock ``now`` (a Date). */
export function deskReference(now) {
  const p = (n) => String(n).padStart(2, "0");
  return `DESK-${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
}

/**
 * The body of POST /orders for a same-day order typed in the dialog, or the key of what is wrong.
 * form: {reference, customerName, address, picked: {label, lat, lon}|null, slot (a slot name or "window"),
 *        windowStart, windowEnd, parcels, weightKg, volumeL}; ctx: {hubId, date, now: Date}.
 */
export function sameDayOrderBody(form, { hubId, date, now }) {
  const name = String(form.customerName ?? "").trim();
  const address = String(form.address ?? "").trim();
  const count = Number(form.parcels);
  const weight = Number(form.weightKg);
  const volume = Number(form.volumeL);
  if (!name) return { error: "panel.order.needName" };
  if (!address) return { error: "panel.order.needAddress" };
  if (!Number.isInteger(count) || count < 1 || count > 50) return { error: "panel.order.badParcels" };
  if (!(weight > 0 && weight <= 200)) return { error: "panel.order.badWeight" };
  if (!(volume > 0 && volume <= 2000)) return { error: "panel.order.badVolume" };
  const body = {
    reference: String(form.reference ?? "").trim() || deskReference(now),
    hubId, customerName: name, date, address,
    parcels: Array.from({ length: count }, () => ({ weightKg: weight, volumeL: volume })),
  };
  // A suggestion picked and not typed over: its point is the place (the label stays the address).
  const p = form.picked;
  if (p && p.label === address && Number.isFinite(p.lat) && Number.isFinite(p.lon)) Object.assign(body, { lat: p.lat, lon: p.lon });
  if (form.slot === "window") {
    const start = String(form.windowStart ?? "");
    const end = String(form.windowEnd ?? "");
    if (!HHMM.test(start) || !HHMM.test(end)) return { error: "panel.order.badWindow" };
    if (end <= start) return { error: "panel.order.windowOrder" };
    body.window = { start, end };
  } else if (SLOTS.includes(form.slot)) {
    body.slot = form.slot;
  } else {
    return { error: "panel.order.needSlot" };
  }
  return { body };
}

/**
 * The body of POST /hubs/{id}/closures: a street by name, a drawn area (corners [lat, lon]),
 * or a street within the area; from ``start`` to ``end`` (HH:MM) on ``date``. Or the key of what is wrong.
 */
export function closureBody(form, { date, area }) {
  const reason = String(form.reason ?? "").trim();
  const street = String(form.street ?? "").trim();
  const start = String(form.start ?? "");
  const end = String(form.end ?? "");
  if (!reason) return { error: "panel.closure.needReason" };
  if (!HHMM.test(start) || !HHMM.test(end)) return { error: "panel.closure.badTime" };
  if (end <= start) return { error: "panel.closure.timeOrder" };
  const corners = Array.isArray(area) ? area : [];
  if (!street && !corners.length) return { error: "panel.closure.needWhat" };
  if (corners.length && corners.length < 3) return { error: "panel.closure.fewCorners" };
  if (corners.length > ZONE_MAX_CORNERS) return { error: "panel.closure.manyCorners" };
  const body = { reason, start: `${date}T${start}:00`, end: `${date}T${end}:00` };
  if (street) body.street = street;
  if (corners.length) body.zone = corners.map(([lat, lon]) => [round6(lat), round6(lon)]);
  return { body };
}

const round6 = (x) => Math.round(Number(x) * 1e6) / 1e6;

/** A name for a courier, a stop, a pickup point, from the desk's state (falls back to "#id"). */
export function namer(state) {
  const couriers = state?.couriers;
  const stops = state?.stops;
  const points = state?.pickupPoints || state?.day?.pickupPoints || [];
  return {
    courier: (id) => (id == null ? "" : mapGet(couriers, id)?.name || `#${id}`),
    stop: (id) => {
      if (id == null) return "";
      const s = mapGet(stops, id);
      return s ? [s.reference, s.address].filter(Boolean).join(", ") || `#${id}` : `#${id}`;
    },
    pickupPoint: (id) => (id == null ? "" : points.find((p) => p.id === id)?.name || `#${id}`),
  };
}

function mapGet(m, id) {
  if (!m) return undefined;
  if (typeof m.get === "function") return m.get(id) ?? m.get(Number(id)) ?? m.get(String(id));
  return m[id];
}

/**
 * An alert as the panel shows it, translated by kind with its data:
 * {id, kind, text, note, raisedAt, open, ackBy, ackAt, target: {kind, id}|null}.
 * An unknown kind shows the server's sentence.
 */
const WITH_NOTE = new Set(["replan_not_applied", "wave_not_released"]);

export function alertView(alert, { t, lang = "en", names }) {
  const d = alert.data || {};
  const params = {
    courier: names.courier(d.courierId), stop: names.stop(d.stopId),
    street: d.street ?? "", pickupPoint: names.pickupPoint(d.pickupPointId), run: d.planRunId ?? "",
    sku: d.sku ?? "", short: d.short ?? "", bin: d.bin ?? "", order: d.orderId ?? "", barcode: d.barcode ?? "",
    worker: d.worker ?? "", step: d.step ?? "", item: d.itemId ?? "", cutoff: d.cutoff ?? "",
    movedTo: d.movedTo ?? "", moved: d.moved ?? "", date: d.date ?? "",
  };
  const known = ALERT_KINDS.includes(alert.kind);
  const text = alert.kind === "stop_late" && d.count != null ? lateRouteText(d, params, t, names)
    : alert.kind === "stops_unplanned" ? leftOffText(d, params, t, names)
    : alert.kind === "pick_short" ? t(`panel.alert.${pickShortKey(d)}`, params)
    : alert.kind === "wave_not_released" && d.date ? t("panel.alert.wave_not_released_day", params)
    : known ? t(`panel.alert.${alert.kind}`, params) : String(alert.detail || alert.kind);
  let target = null;
  if (d.stopId != null) target = { kind: "stop", id: d.stopId };
  else if (d.courierId != null) target = { kind: "courier", id: d.courierId };
  return {
    id: alert.id, kind: alert.kind, text,
    title: alert.kind === "pick_short" && d.movedTo ? t("panel.alertKind.pick_moved")
      : known ? t(`panel.alertKind.${alert.kind}`) : t("panel.alertKind.other"),
    // The server's sentence says why (in English): the re-plan's reason, the wave's refusal.
    note: WITH_NOTE.has(alert.kind) && alert.detail ? String(alert.detail) : "",
    raisedAt: clock(alert.raisedAt, lang),
    open: !alert.acknowledgedAt,
    ackAt: alert.acknowledgedAt ? clock(alert.acknowledgedAt, lang) : "",
    ackBy: alert.acknowledgedBy?.name || "",
    target,
  };
}

/** Which sentence a pick_short alert takes: a line moved to another bin (info: nothing is
 * missing), a line no tote or cart takes, no stock at the release, or units short at a bin. */
function pickShortKey(d) {
  if (d.movedTo) return "pick_moved";
  if (d.reason === "no_tote") return "pick_short_no_tote";
  return d.bin ? "pick_short" : "pick_short_unstocked";
}

/** A route's late stops (one stop_late per route): how many, the first few by name, "and n more". */
function lateRouteText(d, params, t, names) {
  const count = Number(d.count) || 0;
  if (!count) return t("panel.alert.stop_late_none", params);
  const first = (d.first || []).map((f) => names.stop(f.stopId));
  const more = count - first.length;
  const stops = first.join("; ") + (more > 0 ? t("panel.alert.andMore", { n: more }) : "");
  return t("panel.alert.stop_late_route", { ...params, count, stops });
}

/** Stops a re-plan left off every route: how many, the first few by name, "and n more". */
function leftOffText(d, params, t, names) {
  const count = Number(d.count) || 0;
  const first = (d.first || []).map((f) => names.stop(f.stopId));
  const more = count - first.length;
  const stops = first.join("; ") + (more > 0 ? t("panel.alert.andMore", { n: more }) : "");
  return t("panel.alert.stops_unplanned", { ...params, count, stops });
}

/** Alerts as a list, newest first: open ones, then acknowledged ones. */
export function sortAlerts(alerts) {
  const list = [...(alerts?.values ? alerts.values() : alerts || [])];
  const by = (a, b) => String(b.raisedAt).localeCompare(String(a.raisedAt)) || (b.id ?? 0) - (a.id ?? 0);
  return [...list.filter((a) => !a.acknowledgedAt).sort(by), ...list.filter((a) => a.acknowledgedAt).sort(by)];
}

/** Merge alert lists by id (later lists win): the open ones and the acknowledged ones of the day. */
export function mergeAlerts(...lists) {
  const byId = new Map();
  for (const list of lists) for (const a of list || []) byId.set(a.id, a);
  return [...byId.values()];
}

/** A stop's history as rows: {at, state, by, detail}, oldest first as the server sends them. */
export function historyRows(history, { t, lang = "en" }) {
  return (history || []).map((h) => ({
    at: clock(h.at, lang),
    state: translated(t, `panel.state.${h.state}`, h.state),
    by: h.by ? `${h.by.name}${h.by.role ? ` (${translated(t, `panel.role.${h.by.role}`, h.by.role)})` : ""}` : t("panel.det.system"),
    detail: h.detail || "",
  }));
}

/** A key's text, or ``fallback`` when the catalogue has none (t gives the key back). */
export function translated(t, key, fallback) {
  const text = t(key);
  return text === key ? String(fallback ?? "") : text;
}

/** How long ago, in words: "40 s", "5 min", "2 h 5 min"; "–" for none. */
export function ageText(seconds, t) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.max(0, Math.round(Number(seconds)));
  if (s < 60) return t("panel.age.s", { n: s });
  const m = Math.floor(s / 60);
  if (m < 60) return t("panel.age.min", { n: m });
  return t("panel.age.h", { h: Math.floor(m / 60), m: m % 60 });
}

/** The courier's ride: {ridden, speed, age, rangeLeft, range, battery, low} as text (low: under 20 % of the range
 * left; rangeLeftKm is the figure re-plans give the planner; battery: the last reported level, "" without one). */
export function trailView(trail, { t, lang = "en" }) {
  if (!trail) return null;
  const left = trail.rangeLeftKm;
  return {
    ridden: `${num(trail.riddenKm, lang)} km`,
    speed: trail.speedKmh == null ? "–" : `${num(trail.speedKmh, lang, 0)} km/h`,
    age: ageText(trail.lastPositionAgeS, t),
    rangeLeft: left == null ? "–" : `${num(left, lang)} km`,
    range: trail.rangeKm == null ? "–" : `${num(trail.rangeKm, lang, 0)} km`,
    battery: trail.batteryPct == null ? "" : `${num(trail.batteryPct, lang, 0)} %`,
    low: left != null && trail.rangeKm > 0 && left / trail.rangeKm < 0.2,
    points: (trail.points || []).length,
  };
}

/** The day's figures as [labelKey, text] rows. */
export function figuresRows(f, { lang = "en" }) {
  if (!f) return [];
  return [
    ["panel.fig.done", `${f.stopsDone ?? 0} / ${f.stopsTotal ?? 0}`],
    ["panel.fig.failed", String(f.stopsFailed ?? 0)],
    ["panel.fig.remaining", String(f.stopsRemaining ?? 0)],
    ["panel.fig.onTime", percent(f.onTimeShare, lang)],
    ["panel.fig.firstAttempt", percent(f.firstAttemptShare, lang)],
    ["panel.fig.ridden", `${num(f.riddenKm, lang)} km`],
    ["panel.fig.co2", `${num(f.co2AvoidedKg, lang)} kg`],
    ["panel.fig.atPickup", String(f.parcelsAtPickupPoints ?? 0)],
    ["panel.fig.perStop", f.avgMinutesPerStop == null ? "–" : `${num(f.avgMinutesPerStop, lang)} min`],
  ];
}

/** The exports of the day: the CSV of every stop, and one GPX per courier. */
export const dayCsvUrl = (hubId, date) => `/hubs/${encodeURIComponent(hubId)}/day.csv?date=${encodeURIComponent(date)}`;
export const gpxUrl = (courierId, date) => `/couriers/${encodeURIComponent(courierId)}/trail.gpx?date=${encodeURIComponent(date)}`;

/** What the routes in force are, in one string: changes when a route is planned or updated. */
export function routesSignature(state) {
  const routes = state?.routes;
  if (!routes) return "";
  const list = [...(routes.values ? routes.values() : Object.values(routes))];
  return list.map((r) => `${r.courierId}:${r.id ?? r.routeId}:${r.version ?? ""}`).sort().join("|");
}

/** Stop states of a stop in a signature, so a detail panel reloads when its stop changes. */
export function stopSignature(stop) {
  return stop ? `${stop.status ?? ""}/${stop.state ?? ""}/${stop.orderStatus ?? ""}/${stop.courierId ?? ""}` : "";
}

/**
 * Call ``fn`` at most once per ``ms``: the first call at once, later ones folded into one call
 * at the end of the quiet time. ``timer`` is {now(), later(fn, ms)} (tests pass a fake clock).
 */
export function throttle(fn, ms, timer = { now: () => Date.now(), later: (f, d) => setTimeout(f, d) }) {
  let last = -Infinity;
  let pending = false;
  return function call() {
    const now = timer.now();
    if (now - last >= ms) {
      last = now;
      fn();
    } else if (!pending) {
      pending = true;
      timer.later(() => {
        pending = false;
        last = timer.now();
        fn();
      }, ms - (now - last));
    }
  };
}

/** The couriers that can be chosen in a dialog: on shift today, by name. */
export function courierChoices(state) {
  const c = state?.couriers;
  const list = [...(c?.values ? c.values() : c || [])];
  return list.slice().sort((a, b) => String(a.name).localeCompare(String(b.name)));
}

/**
 * What a re-plan answer says, as {key, params, kind}: applied (couriers changed, stops left
 * unplanned) or not applied (the server's reason in ``detail``).
 */
export function replanOutcome(answer) {
  const a = answer || {};
  if (a.applied === false) return { key: "panel.replan.notApplied", params: { detail: String(a.detail || "").replace(/\.$/, "") }, kind: "error" };
  const n = Array.isArray(a.changedCouriers) ? a.changedCouriers.length : Number(a.changedCouriers) || 0;
  const unplanned = Number(a.unplanned) || 0;
  return { key: unplanned ? "panel.replan.doneUnplanned" : "panel.replan.done", params: { n, unplanned }, kind: "info" };
}

/** Messages to a courier, loaded and arrived by the stream, once each, oldest first. */
export function mergeMessages(...lists) {
  const byId = new Map();
  for (const list of lists) for (const m of list || []) byId.set(m.id ?? `${m.sentAt}/${m.text}`, m);
  return [...byId.values()].sort((a, b) => String(a.sentAt).localeCompare(String(b.sentAt)));
}
