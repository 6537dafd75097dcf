// The returns desk's "back to the supplier" screen: the finished items whose end is their
// supplier, one parcel per shop; the parcel's reference typed or scanned from the carrier's
// label, then "Sent". Views only: the state and the action are app.js's (``supplierView``).
import { html } from "../kit/html.js";
import { bySupplier } from "./model.js";

export function supplierView({ state, t, back, ship }) {
  const parcels = bySupplier(state.supplier);
  return html`${back("home")}<h1>${t("sup.title")}</h1>
    ${parcels.length === 0 ? html`<p class="empty">${t("sup.empty")}</p>` : parcels.map((p, k) => html`
      <form class="card parcel" data-parcel=${k} @submit=${(e) => { e.preventDefault(); ship(p, e.target.reference.value); }}>
        <h2>${p.shop || t("sup.noShop")} · ${t("sup.count", { n: p.items.length })}</h2>
        <ul class="items">${p.items.map((i) => html`<li data-item=${i.itemId}>
          <strong>${i.sku}</strong> · #${i.itemId} · ${i.returnCode} · ${t("sup.grade", { grade: i.grade })}
          ${i.findings.length ? html`<br><span class="findings">${i.findings.join(", ")}</span>` : ""}</li>`)}</ul>
        <label><span>${t("sup.reference")}</span>
          <input name="reference" data-scan-field autocomplete="off" spellcheck="false" maxlength="80"
            aria-label=${t("sup.referenceLabel", { shop: p.shop || t("sup.noShop") })}></label>
        <button class="btn primary big" type="submit">${t("sup.sent")}</button>
      </form>`)}`;
}
