// The tracking page's view model: the server's status answer turned into the
// texts shown (pure functions, tested with node --test).

/** [headline, detail] for a status answer. */
export function headline(body, t) {
  const known = ["received", "planned", "out_for_delivery", "delivered", "failed"].includes(body.status);
  const title = known ? t(`track.status.${body.status}`) : String(body.status ?? "");
  let detail = known ? t(`track.status.${body.status}.detail`) : "";
  if (body.status === "out_for_delivery" && body.stopsAway !== null && body.stopsAway !== undefined) {
    detail = body.stopsAway === 0 ? t("track.nextStop") : t("track.stopsAway", { n: body.stopsAway });
  }
  if (body.status === "delivered" && body.completedAt) {  // the actual time, not the plan's
    detail = t("track.status.delivered.at", { time: String(body.completedAt).slice(11, 16) });
  }
  return [title, detail];
}

export function whereText(body, t) {
  if (!body.pickupPoint) return body.address || "";
  const code = body.pickupCode ? ` · ${t("track.pickupCode", { code: body.pickupCode })}` : "";
  // A locker bank: the compartment the parcel is (or will be) in; the code opens it.
  const doors = body.locker?.compartments?.length ? ` · ${t(body.locker.ready ? "track.lockerIn" : "track.lockerFor",
    { doors: body.locker.compartments.join(", ") })}` : "";
  return `${t("track.pickupPoint", { name: body.pickupPoint.name })}${doors}${code}`;
}

/** "09:00–11:00" of a window {start, end}; ``clock`` formats each time for the locale. */
export const span = (w, clock = (x) => x) => (w ? `${clock(w.start)}–${clock(w.end)}` : "–");

/** [title, subtitle] of one redirect choice. */
export function choiceLabel(o, t, number = String) {
  if (o.kind === "window") {
    const slot = t(`track.change.slot.${o.slot}`);
    return [`${slot.startsWith("track.") ? o.slot : slot}, ${o.start}–${o.end}`, t("track.change.sameplace")];
  }
  if (o.kind === "pickup_point") {
    const close = o.closes === "24:00" ? t("track.change.openAllDay") : t("track.change.openUntil", { time: o.closes });
    const parts = [o.address, t("track.change.metresAway", { m: number(o.distanceM) }),
      t("track.change.readyFrom", { time: o.start }), close];
    return [o.name, parts.filter(Boolean).join(" · ")];
  }
  return [t("track.change.anotherAddress"), t("track.change.deliveredBetween", { start: o.start, end: o.end })];
}

/** The request body for a chosen option. */
export function redirectBody(o, address) {
  if (o.kind === "window") return { kind: "window", window: o.window };
  if (o.kind === "pickup_point") return { kind: "pickup_point", pickupPointId: o.pickupPointId };
  return { kind: "address", address: String(address || "").trim() };
}

/** The sentence after the server accepted a change. */
export function doneText(answer, t) {
  const w = answer.window || {};
  const where = answer.pickupPoint ? t("track.change.pickupWhere", { name: answer.pickupPoint.name, code: answer.pickupCode })
    : answer.kind === "address" ? answer.address : "";
  return where ? t("track.change.doneTo", { where, start: w.start, end: w.end })
    : t("track.change.done", { start: w.start, end: w.end });
}

/** The sentence after the server refused a change. */
export function refusedText(answer, t) {
  let text = answer.detail || t("track.change.failed");
  if (answer.suggestions?.length) text += ` ${t("track.change.didYouMean", { list: answer.suggestions.slice(0, 3).join("; ") })}`;
  return text;
}

/** "ma 11 december" of the date part of a server timestamp, in the page's language. */
export function dayText(iso, lang) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(iso ?? ""));
  if (!m) return String(iso ?? "");
  const at = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return new Intl.DateTimeFormat(lang, { weekday: "long", day: "numeric", month: "long", timeZone: "UTC" }).format(at);
}

/**
 * A missed delivery in plain words: {why, where, address, hours, until, code} (texts, empty when
 * unknown). ``clock`` formats a time, ``day`` a date, both for the page's language.
 */
export function missedText(missed, t, clock = (x) => x, day = (x) => x) {
  const reasons = ["not_home", "refused", "address_not_found", "no_access", "damaged", "other"];
  const why = [missed.at ? t("track.missed.at", { time: clock(missed.at) }) : "",
    reasons.includes(missed.reason) ? t(`track.missed.reason.${missed.reason}`) : ""].filter(Boolean).join(" ");
  const now = missed.now;
  const out = { why, where: t("track.missed.now.pending"), address: "", hours: "", until: "", code: "" };
  if (!now) return out;
  if (now.kind === "retry") {
    out.where = t("track.missed.now.retry", { start: clock(now.window?.start), end: clock(now.window?.end) });
    out.address = now.address || "";
    return out;
  }
  out.where = t(`track.missed.now.${now.kind === "hub" ? "hub" : "pickup_point"}`, { name: now.pointName || "" });
  out.address = now.address || "";
  if (Array.isArray(now.hours)) {
    const spans = now.hours.map((h) => (h.opens === "00:00" && h.closes === "24:00" ? t("track.change.openAllDay")
      : `${clock(h.opens)}–${h.closes === "24:00" ? "24:00" : clock(h.closes)}`));
    out.hours = spans.length ? t("track.missed.hours", { spans: spans.join(", ") }) : t("track.missed.closed");
  }
  if (now.until) out.until = t("track.missed.until", { date: day(now.until) });
  out.code = now.code || "";
  return out;
}
