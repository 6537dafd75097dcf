// The Settings dialog's pure part: the hub's picking settings, its scanners' prefix and
// suffix and a shop's packing options, as form fields from the API's answers and as the
// bodies sent back. No DOM: tested with node --test (tests/js/dispatch_settings.test.mjs).

/** The ways of working a hub may pick with (docs/warehouse.md). */
export const MODES = ["sort_while_picking", "pick_then_sort"];

/** A wave is released this long before its cut-off: fixed in the service, shown for reference. */
export const WAVE_LEAD_HOURS = 2;

const text = (v, fallback = "") => (v === null || v === undefined ? fallback : String(v));

/** GET /hubs/{id}/picking-settings as the form's fields (numbers as typed text). */
export function pickingForm(data) {
  const cart = data?.cart ?? {};
  return {
    mode: MODES.includes(data?.mode) ? data.mode : MODES[0],
    totes: text(cart.totes, "8"),
    toteVolume: text(cart.toteVolume, "40"),
    toteWeight: text(cart.toteWeight, "15"),
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
  return { body: { mode: form.mode, cart } };
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
