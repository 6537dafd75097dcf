// The Picking panel's pure part: the waves of GET /hubs/{id}/waves as rows for the
// supervisor (lines picked, short, left, pickers, minutes to the cut-off on the hub's
// clock). No DOM: tested with node --test (tests/js/dispatch_picking.test.mjs).

/** Whether a hub-stream event kind is news for the Picking panel. */
export function isPickingEvent(kind) {
  return typeof kind === "string" && (kind.startsWith("pick.") || kind.startsWith("wave."));
}

/** Whole minutes from the desk's ``now`` ("YYYY-MM-DDTHH:MM[:SS]", the hub's clock) to ``cutoff``
 *  ("HH:MM") on ``date``; negative past it; null when either is unknown. */
export function minutesLeft(date, cutoff, now) {
  if (!date || !/^\d{2}:\d{2}$/.test(String(cutoff ?? "")) || !now) return null;
  const at = Date.parse(`${date}T${cutoff}:00Z`);
  const from = Date.parse(`${String(now).slice(0, 16)}:00Z`);
  if (Number.isNaN(at) || Number.isNaN(from)) return null;
  return Math.round((at - from) / 60_000);
}

/** The time left as a message key and its parameters: {key, params, late}. */
export function timeLeft(minutes) {
  if (minutes === null || minutes === undefined) return { key: "panel.pick.noTime", params: {}, late: false };
  if (minutes < 0) return { key: "panel.pick.past", params: { h: Math.floor(-minutes / 60), m: -minutes % 60 }, late: true };
  return { key: "panel.pick.left", params: { h: Math.floor(minutes / 60), m: minutes % 60 }, late: false };
}

/** One row per wave, earliest cut-off first. */
export function pickingRows(waves, { date, now } = {}) {
  return [...(waves ?? [])]
    .sort((a, b) => String(a.cutoff).localeCompare(String(b.cutoff)))
    .map((w) => {
      const left = w.left ?? (w.unreleased ?? 0) + (w.picking ?? 0);
      const minutes = minutesLeft(date, w.cutoff, now);
      return {
        cutoff: w.cutoff,
        slots: w.slots ?? [],
        lines: w.lines ?? 0,
        picked: w.picked ?? 0,
        short: w.short ?? 0,
        left,
        atShops: w.atShops ?? 0,
        unreleased: w.unreleased ?? 0,
        pickers: w.pickers ?? [],
        done: (w.lines ?? 0) - left,
        minutes,
        time: timeLeft(left > 0 ? minutes : null),
        late: left > 0 && minutes !== null && minutes < 0,
      };
    });
}

/** Whether a wave row offers "Release wave now": it has lines not released yet. */
export function canRelease(row) {
  return Boolean(row && row.unreleased > 0);
}

/** The answer of POST /hubs/{id}/waves/release as a message key and its parameters. */
export function releasedOutcome(answer, cutoff) {
  const waves = Array.isArray(answer?.released) ? answer.released : [];
  const batches = waves.reduce((n, w) => n + (Array.isArray(w.batchIds) ? w.batchIds.length : 0), 0);
  const lines = waves.reduce((n, w) => n + (Number(w.lines) || 0), 0);
  const short = waves.reduce((n, w) => n + (Number(w.shortLines) || 0), 0);
  return { key: short ? "panel.pick.releasedShort" : "panel.pick.released", params: { cutoff, batches, lines, short } };
}
