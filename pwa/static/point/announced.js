// The pickup point's announced parcels one by one (today and tomorrow); at a locker bank with
// the door each is kept in, or "waits for a door" (docs/lockers.md "Free on which day").
import { html } from "../kit/html.js";
import { announcedRows } from "./model.js";

/** The Today tab's list of the announced parcels (``t``: the app's translate). */
export function announcedList(day, t) {
  const rows = announcedRows(day);
  if (!rows.length) return "";
  const locker = day.point.kind === "locker";
  return html`
    <h2 class="list-head">${t("announced.title")}</h2>
    <table class="announced" id="announced-list">
      <thead><tr><th scope="col">${t("announced.parcel")}</th><th scope="col">${t("announced.customer")}</th>
        <th scope="col">${t("announced.day")}</th>
        ${locker ? html`<th scope="col">${t("announced.compartment")}</th>` : ""}</tr></thead>
      <tbody>${rows.map((r) => html`<tr data-parcel=${r.barcode}><td>${r.barcode}</td><td>${r.customer}</td>
        <td>${t(r.today ? "announced.today" : "announced.tomorrow")}</td>
        ${locker ? html`<td class="door">${r.compartment ?? t("announced.waits")}</td>` : ""}</tr>`)}</tbody>
    </table>`;
}
