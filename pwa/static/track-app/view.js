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
  return `${t("track.pickupPoint", { name: body.pickupPoint.name })}${code}`;
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
