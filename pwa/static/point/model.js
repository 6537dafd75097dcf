// The pickup-point app's pure view model: what a scan means, which tab shows what, and
// how the day is summed up. No DOM, no fetch: tested with node --test (tests/js/point_model.test.mjs).

export const TABS = ["today", "scanIn", "handOut", "returns", "toReturn"];

/** The customer's QR code (the "ready for pickup" message's ``qr``: "LBP:<barcode>:<code>")
 *  as {barcode, code}; null for anything else (a parcel label). */
export function parseQr(text) {
  const m = /^LBP:([^:\s]{1,64}):(\d{4,12})$/.exec(String(text ?? "").trim());
  return m ? { barcode: m[1], code: m[2] } : null;
}

/** A typed pickup code as sent: digits only (spaces and dashes the customer reads out dropped). */
export function cleanCode(text) {
  return String(text ?? "").replace(/[\s-]/g, "");
}

/** The Today tab's figures from GET /point/today. */
export function summary(day) {
  if (!day) return null;
  const [today, tomorrow] = day.announced ?? [];
  return {
    announcedToday: today?.count ?? 0,
    announcedTomorrow: tomorrow?.count ?? 0,
    courierToday: today?.courier?.eta ?? "",
    courierTomorrow: tomorrow?.courier?.eta ?? "",
    inPoint: (day.inPoint ?? []).length,
    handedOut: (day.handedOut ?? []).length,
    toReturn: (day.toReturn ?? []).length,
    returnsCart: (day.returnsCart ?? []).length,
    roomToday: today?.room ?? 0,
    roomTomorrow: tomorrow?.room ?? 0,
    capacity: day.point?.capacity ?? 0,
    locked: (day.inPoint ?? []).filter((p) => p.lockedUntil).map((p) => p.barcode),
  };
}

/** What a queued scan's answer means for the list of scans: {kind: "ok" | "error" | "keep", key}. */
export function scanOutcome(status, data) {
  if (status === 200 && data?.result === "already_in") return { kind: "ok", key: "scan.already" };
  if (status === 200) return { kind: "ok", key: "scan.in" };
  if (status === 401 || status === 429 || status >= 500) return { kind: "keep", key: "scan.kept" };
  return { kind: "error", key: "" };
}

/** A customer's return code (R-XXXXXXXX) as scanned or typed; null for anything else. */
export function returnCode(text) {
  const code = String(text ?? "").trim().toUpperCase();
  return /^R-[0-9A-Z]{4,14}$/.test(code) ? code : null;
}

/** The announced parcels of today and tomorrow from GET /point/today, one row each:
 *  {barcode, customer, today, compartment} (compartment: the locker door, null when it waits). */
export function announcedRows(day) {
  const [today, tomorrow] = day?.announced ?? [];
  const rows = (a, isToday) =>
    (a?.parcels ?? []).map((p) => ({
      barcode: p.barcode,
      customer: p.customer,
      today: isToday,
      compartment: p.compartment ?? null,
    }));
  return [...rows(today, true), ...rows(tomorrow, false)];
}
