// The desk's toolbar: re-plan now, a same-day order, close a street or an area,
// a message to a courier, a courier out of service, the hub's settings.
import { html } from "../../kit/html.js";
import { replanOutcome } from "./model.js";
import { ui, hubAndDate, send, REPLAN_TIMEOUT_MS } from "./shared.js";
import { openOrderDialog } from "./order-dialog.js";
import { openClosureDialog } from "./closure-dialog.js";
import { openMessageDialog } from "./message-dialog.js";
import { openServiceDialog } from "./service-dialog.js";
import { openSettingsDialog } from "./settings-dialog.js";

export async function replanNow(desk) {
  if (ui.replanBusy) return;
  const { hubId } = hubAndDate(desk);
  ui.replanBusy = true;
  desk.rerender();
  const res = await send(desk, "POST", `/hubs/${hubId}/replan`, { reason: "dispatcher: re-plan now" }, { timeout: REPLAN_TIMEOUT_MS });
  ui.replanBusy = false;
  desk.rerender();
  if (!res.ok) return desk.toast(res.sentence, "error");
  const out = replanOutcome(res.data);
  desk.toast(desk.t(out.key, out.params), out.kind);
}

/** The courier selected on the map or the timeline: the one the courier dialogs start with. */
function selectedCourier(desk) {
  const sel = desk.store.getState().selection;
  return sel?.kind === "courier" ? sel.id : null;
}

export function toolbar(desk) {
  const t = desk.t;
  const busy = ui.replanBusy;
  return html`<div class="panel-toolbar" role="toolbar" aria-label=${t("panel.toolbar")}>
    <button type="button" class="panel-btn primary" data-action="replan" ?disabled=${busy} aria-busy=${busy ? "true" : "false"}
      @click=${() => replanNow(desk)}>${busy ? t("panel.replan.busy") : t("panel.replan")}</button>
    <button type="button" class="panel-btn" data-action="order" aria-haspopup="dialog"
      @click=${() => openOrderDialog(desk)}>${t("panel.order")}</button>
    <button type="button" class="panel-btn" data-action="closure" aria-haspopup="dialog"
      @click=${() => openClosureDialog(desk)}>${t("panel.closure")}</button>
    <button type="button" class="panel-btn" data-action="message" aria-haspopup="dialog"
      @click=${() => openMessageDialog(desk, { courierId: selectedCourier(desk) })}>${t("panel.message")}</button>
    <button type="button" class="panel-btn" data-action="out-of-service" aria-haspopup="dialog"
      @click=${() => openServiceDialog(desk, { courierId: selectedCourier(desk) })}>${t("panel.outOfService")}</button>
    <button type="button" class="panel-btn" data-action="settings" aria-haspopup="dialog"
      @click=${() => openSettingsDialog(desk)}>${t("panel.settings")}</button>
  </div>`;
}
