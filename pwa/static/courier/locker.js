// A stop at a locker bank: which compartment, and the code that opens it (the courier's own;
// the customer gets another). Dropping a delivery: open, put the parcel in, scan it. A shop's
// drop: open, take it out, scan it.
import { html, nothing } from "../kit/html.js";

export function lockerDoors(stop, t) {
  const doors = stop.compartments || [];
  if (!doors.length) return nothing;
  const hint = stop.kind === "pickup" ? t("locker.takeHint") : t("locker.dropHint");
  return html`
    <section class="locker" aria-labelledby="locker-title-${stop.stopId}" data-locker=${stop.stopId}>
      <h2 id="locker-title-${stop.stopId}">${t("locker.title")}</h2>
      <ul class="locker-doors">${doors.map((d) => html`
        <li data-compartment=${d.compartment}>
          <span class="door"><span class="label">${t("locker.door")}</span><strong>${d.compartment}</strong></span>
          <span class="door-code"><span class="label">${t("locker.code")}</span><strong class="code">${d.code}</strong></span>
          <span class="barcode">${d.barcode}</span>
          ${d.filled ? html`<span class="chip">${t(stop.kind === "pickup" ? "locker.waiting" : "locker.inside")}</span>` : nothing}
        </li>`)}</ul>
      <p class="sub">${hint}</p>
    </section>`;
}
