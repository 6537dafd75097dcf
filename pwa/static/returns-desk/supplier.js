// The returns desk's "back to the supplier" screen: the finished items whose end is their
// supplier, one parcel per shop; the parcel's reference typed or scanned from the carrier's
// label (the wedge fills the focused parcel's field, else the first empty one), then "Sent".
// The app's state, translations and helpers are handed in once (``createSupplier``).
import { html } from "../kit/html.js";
import { bySupplier } from "./model.js";

export function createSupplier({ state, t, back, request, send, say, draw }) {
  const noShop = (shop) => shop || t("sup.noShop");

  async function load() {
    const res = await request("GET", "/returns-desk/supplier").catch(() => null);
    if (res?.ok) { state.supplier = res.data; draw(); }
  }

  /** One parcel to its supplier: its items under the reference typed or scanned. */
  async function ship(parcel, reference) {
    const ref = String(reference || "").trim();
    if (!ref) return say(t("sup.reference"));
    const data = await send("/returns-desk/supplier/shipments", { items: parcel.items.map((i) => i.itemId), reference: ref });
    if (data) {
      say("", t("sup.done", { shop: noShop(parcel.shop), n: data.items.length }));
      load();
    }
  }

  function onScan(code) {
    const fields = [...document.querySelectorAll("[data-parcel] input[name=reference]")];
    const field = fields.find((f) => f === document.activeElement) || fields.find((f) => !f.value);
    if (field) field.value = code;
  }

  function view() {
    const parcels = bySupplier(state.supplier);
    return html`${back("home")}<h1>${t("sup.title")}</h1>
      ${parcels.length === 0 ? html`<p class="empty">${t("sup.empty")}</p>` : parcels.map((p, k) => html`
        <form class="card parcel" data-parcel=${k} @submit=${(e) => { e.preventDefault(); ship(p, e.target.reference.value); }}>
          <h2>${noShop(p.shop)} · ${t("sup.count", { n: p.items.length })}</h2>
          <ul class="items">${p.items.map((i) => html`<li data-item=${i.itemId}>
            <strong>${i.sku}</strong> · #${i.itemId} · ${i.returnCode} · ${t("sup.grade", { grade: i.grade })}
            ${i.findings.length ? html`<br><span class="findings">${i.findings.join(", ")}</span>` : ""}</li>`)}</ul>
          <label><span>${t("sup.reference")}</span>
            <input name="reference" data-scan-field autocomplete="off" spellcheck="false" maxlength="80"
              aria-label=${t("sup.referenceLabel", { shop: noShop(p.shop) })}></label>
          <button class="btn primary big" type="submit">${t("sup.sent")}</button>
        </form>`)}`;
  }

  return { view, load, onScan };
}
