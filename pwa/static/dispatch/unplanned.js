// The stops no route could take, with why (translated by reason code) and the
// planner's detail; each can be selected or dragged onto a courier's row.
import { html } from "../kit/html.js";

const REASONS = new Set([
  "too_heavy", "too_big", "window_unreachable", "beyond_range", "no_vehicle", "pickup_unplanned", "no_capacity", "pinned_order",
  "zone_window", "street_closed",
]);

/** The translated reason of an unplanned stop. */
export const reasonText = (reason, t) => t(REASONS.has(reason) ? `reason.${reason}` : "reason.other");

export function unplannedList({ state, t, i18n, onSelect }) {
  const list = state.unplanned;
  const clock = (v) => (v ? i18n.clock(v) : "–");
  const sel = state.selection;
  return html`
    <h2>${t("unplanned.title", { n: list.length })}</h2>
    ${list.length ? html`<p class="hint">${t("unplanned.drag")}</p>
      <ul class="unplanned-list">
        ${list.map((u) => html`<li>
          <button type="button" class="unplanned-item" draggable="true" data-unplanned-id=${u.stopId}
            aria-pressed=${String(sel?.kind === "stop" && sel.id === u.stopId)}
            @click=${() => onSelect({ kind: "stop", id: u.stopId })}>
            <span class="u-head"><strong>${u.reference || `#${u.stopId}`}</strong> ${u.address || ""}</span>
            <span class="u-reason">${reasonText(u.reason, t)}</span>
            ${u.detail ? html`<span class="u-detail">${u.detail}</span>` : ""}
            ${u.windowStart ? html`<span class="u-window">${clock(u.windowStart)}–${clock(u.windowEnd)}</span>` : ""}
          </button></li>`)}
      </ul>` : html`<p class="hint">${t("unplanned.none")}</p>`}`;
}
