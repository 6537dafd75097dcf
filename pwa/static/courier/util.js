// Small helpers shared by the courier app's modules.

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escape text for use inside HTML (content and quoted attributes). */
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** "2026-11-22T09:28:18" (local wall-clock time of the hub) -> "09:28". */
export function hhmm(ts) {
  if (!ts) return "–";
  const m = /T(\d{2}:\d{2})/.exec(ts);
  return m ? m[1] : String(ts);
}

export function windowText(stop) {
  const from = stop.windowStart ? hhmm(stop.windowStart) : "00:00";
  const to = stop.windowEnd ? hhmm(stop.windowEnd) : "23:59";
  const open = from === "00:00";
  const close = to === "23:59" || to === "00:00" && stop.windowEnd?.slice(0, 10) !== stop.windowStart?.slice(0, 10);
  if (open && close) return "any time";
  if (open) return `until ${to}`;
  if (close) return `from ${from}`;
  return `${from}–${to}`;
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

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // Insecure contexts (plain http on a LAN address) have no randomUUID: build a v4 UUID by hand.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const STOP_STATUS_TEXT = {
  planned: "To do",
  arrived: "Arrived",
  delivered: "Delivered",
  failed: "Failed",
  collected: "Collected",
};

export const FAIL_REASONS = [
  ["not_home", "Not home"],
  ["refused", "Refused"],
  ["address_not_found", "Address not found"],
  ["no_access", "No access"],
  ["damaged", "Damaged"],
  ["other", "Other…"],
];

export function reasonText(code) {
  const found = FAIL_REASONS.find(([c]) => c === code);
  return found ? found[1].replace("…", "") : code || "";
}

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
