// The Settings dialog's pure part: the hub's picking settings, its scanners' prefix and
// suffix and a shop's packing options, as form fields from the API's answers and as the
// bodies sent back. No DOM: tested with node --test (tests/js/dispatch_settings.test.mjs).

/** The ways of working a hub may pick with (docs/warehouse.md). */
export const MODES = ["sort_while_picking", "pick_then_sort"];

const text = (v, fallback = "") => (v === null || v === undefined ? fallback : String(v));

/** GET /hubs/{id}/picking-settings as the form's fields (numbers as typed text). */
export function pickingForm(data) {
  const cart = data?.cart ?? {};
  return {
    mode: MODES.includes(data?.mode) ? data.mode : MODES[0],
    totes: text(cart.totes, "8"),
    toteVolume: text(cart.toteVolume, "40"),
    toteWeight: text(cart.toteWeight, "15"),
    leadMinutes: text(data?.leadMinutes, "120"),
  };
}

/** A number as a person types it ("12,5" too); null when it is none. */
export function numberOf(typed) {
  const s = String(typed ?? "").trim().replace(",", ".");
  if (!/^-?\d+(\.\d+)?$/.test(s)) return null;
  return Number(s);
}

/**
 * The PUT body of the picking form: ``{body}``, or ``{error, field}`` (a message key) when a
 * number is not one. The ranges are the server's to judge: its sentence is shown.
 */
export function pickingBody(form) {
  const cart = {};
  for (const [field, integer] of [["totes", true], ["toteVolume", false], ["toteWeight", false]]) {
    const n = numberOf(form[field]);
    if (n === null || (integer && !Number.isInteger(n))) {
      return { error: integer ? "panel.settings.wholeNumber" : "panel.settings.number", field };
    }
    cart[field] = n;
  }
  // Sent every time: a PUT replaces the settings whole, and a missing lead time is the default.
  const lead = numberOf(form.leadMinutes);
  if (lead === null || !Number.isInteger(lead)) return { error: "panel.settings.wholeNumber", field: "leadMinutes" };
  return { body: { mode: form.mode, cart, leadMinutes: lead } };
}

/** GET /hubs/{id}/scanner as the form's fields. */
export function scannerForm(data) {
  return { prefix: text(data?.prefix), suffix: text(data?.suffix) };
}

/** The PUT body of the scanner form: as typed (a blank at an end is the server's to refuse). */
export function scannerBody(form) {
  return { prefix: String(form.prefix ?? ""), suffix: String(form.suffix ?? "") };
}

/** GET /shops/{id}/packing as the form's fields. */
export function packingForm(data) {
  return {
    brandedBox: Boolean(data?.brandedBox),
    card: Boolean(data?.card),
    cardMessage: text(data?.cardMessage),
    giftWrap: Boolean(data?.giftWrap),
  };
}

/** The PUT body of a shop's packing options; no card, no message. */
export function packingBody(form) {
  return {
    brandedBox: Boolean(form.brandedBox),
    card: Boolean(form.card),
    cardMessage: form.card ? String(form.cardMessage ?? "") : "",
    giftWrap: Boolean(form.giftWrap),
  };
}

/** The shops of the desk's day to choose from, by name. */
export function shopChoices(state) {
  return [...(state?.shops ?? [])]
    .filter((s) => s && s.id != null)
    .sort((a, b) => String(a.name ?? "").localeCompare(String(b.name ?? "")) || a.id - b.id);
}
