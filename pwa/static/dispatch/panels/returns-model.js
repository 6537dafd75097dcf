// The Returns panel's pure part: the ISO weeks to ask for (the desk's day and the weeks before
// it), and the bars of a small chart from GET /hubs/{id}/returns/figures. No DOM: tested with
// node --test (tests/js/dispatch_returns.test.mjs).

export const WEEKS_SHOWN = 8;

/** The ISO week ("2026-W49") of a day "YYYY-MM-DD"; null when it is not one. */
export function isoWeek(date) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(date ?? ""));
  if (!m) return null;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  if (Number.isNaN(d.getTime())) return null;
  const thursday = new Date(d.getTime() + (3 - ((d.getUTCDay() + 6) % 7)) * 86_400_000); // its week's Thursday
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday - Date.UTC(year, 0, 1)) / (7 * 86_400_000));
  return `${year}-W${String(week).padStart(2, "0")}`;
}

/** The range {from, to} of ``n`` weeks ending with the week of ``date``; null without a day. */
export function weekRange(date, n = WEEKS_SHOWN) {
  const to = isoWeek(date);
  if (!to) return null;
  const [y, mo, d] = date.split("-").map(Number);
  const back = new Date(Date.UTC(y, mo - 1, d) - (n - 1) * 7 * 86_400_000).toISOString().slice(0, 10);
  return { from: isoWeek(back), to };
}

export const figuresCsvUrl = (hubId, range, table = "rates") =>
  `/hubs/${encodeURIComponent(hubId)}/returns/figures.csv?from=${encodeURIComponent(range.from)}` +
  `&to=${encodeURIComponent(range.to)}&table=${encodeURIComponent(table)}`;

/**
 * Bars of ``value(week)`` for a chart ``width`` x ``height`` (a bar per week, scaled to the largest;
 * a week without a value, or a negative one, draws no bar): [{week, x, y, w, h, value}].
 */
export function bars(weeks, value, { width = 280, height = 80, gap = 4 } = {}) {
  const list = Array.isArray(weeks) ? weeks : [];
  const values = list.map((w) => value(w));
  const top = Math.max(0, ...values.filter((v) => typeof v === "number"));
  const slot = list.length ? width / list.length : 0;
  return list.map((w, i) => {
    const v = values[i];
    const h = typeof v === "number" && v > 0 && top > 0 ? Math.max(1, Math.round((v / top) * height)) : 0;
    return { week: w.week, x: Math.round(i * slot + gap / 2), y: height - h, w: Math.max(1, Math.round(slot - gap)), h, value: v };
  });
}

/** "W49" of "2026-W49": the short label under a bar. */
export const shortWeek = (week) => String(week ?? "").replace(/^\d{4}-/, "");
