// Small pure helpers of the courier app (times, windows, barcodes, links).

/** "2026-11-22T09:28:18" (local wall-clock time of the hub) -> "09:28". */
export function hhmm(ts) {
  if (!ts) return "–";
  const m = /T(\d{2}:\d{2})/.exec(ts);
  return m ? m[1] : String(ts);
}

/** The stop's time window for people; ``clock`` formats a "HH:MM" for the locale. */
export function windowText(stop, t, clock = (x) => x) {
  const from = stop.windowStart ? hhmm(stop.windowStart) : "00:00";
  const to = stop.windowEnd ? hhmm(stop.windowEnd) : "23:59";
  const open = from === "00:00";
  const close = to === "23:59" || to === "00:00" && stop.windowEnd?.slice(0, 10) !== stop.windowStart?.slice(0, 10);
  if (open && close) return t("window.any");
  if (open) return t("window.until", { to: clock(to) });
  if (close) return t("window.from", { from: clock(from) });
  return `${clock(from)}–${clock(to)}`;
}

/** geo: URI that opens the phone's navigation app at the stop. */
export function geoLink(lat, lon, label) {
  const q = `${lat},${lon}${label ? `(${encodeURIComponent(label)})` : ""}`;
  return `geo:${lat},${lon}?q=${q}`;
}

/** Metres between two WGS84 points (haversine). */
export function distanceM(a, b) {
  const R = 6371000;
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const s = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.sqrt(s));
}

export const FAIL_REASONS = ["not_home", "refused", "address_not_found", "no_access", "damaged", "other"];

/** The failure reason for people, without the "…" of the button that asks for a note. */
export const reasonText = (code, t) => (code ? t(`reason.${code}`).replace("…", "") : "");

export const statusText = (status, t) => {
  const text = t(`status.${status}`);
  return text.startsWith("status.") ? status : text;
};

export function isOpen(stop) {
  return stop.status === "planned" || stop.status === "arrived";
}

export function normBarcode(raw) {
  return String(raw || "").trim();
}

/** The known barcode matching a scan (scanners and keyboards may differ in case), or null. */
export function matchBarcode(scanned, known) {
  const s = normBarcode(scanned).toLowerCase();
  return known.find((b) => b.toLowerCase() === s) ?? null;
}
