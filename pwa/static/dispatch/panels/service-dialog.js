// Out of service: POST /couriers/{id}/out-of-service {reason}. The shift becomes interrupted,
// the goods on the bike get a transfer pickup where it stands, the rest goes to others.
import { html } from "../../kit/html.js";
import { courierChoices } from "./model.js";
import { showDialog, redraw, closeDialog, isShown, title, errorLine, actions, keep, labelled } from "./dialog.js";
import { courierSelect, nameOf } from "./message-dialog.js";
import { countOf } from "./closure-dialog.js";
import { send, REPLAN_TIMEOUT_MS } from "./shared.js";

export function openServiceDialog(desk, { courierId = null, onDone } = {}) {
  const couriers = courierChoices(desk.store.getState());
  const form = { courierId: String(courierId ?? couriers[0]?.id ?? ""), reason: "" };
  const st = { error: "", busy: false };
  const t = desk.t;

  const submit = async (e) => {
    e.preventDefault();
    if (st.busy) return;
    const reason = form.reason.trim();
    st.error = !form.courierId ? t("panel.needCourier") : !reason ? t("panel.oos.needReason") : "";
    if (st.error) return redraw();
    st.busy = true;
    redraw();
    const res = await send(desk, "POST", `/couriers/${encodeURIComponent(form.courierId)}/out-of-service`, { reason }, { timeout: REPLAN_TIMEOUT_MS });
    st.busy = false;
    if (res.ok) {
      closeDialog(view);
      const changed = countOf(res.data?.changedCouriers);
      desk.toast(t("panel.oos.done", { courier: nameOf(couriers, form.courierId), n: changed }));
      if (onDone) onDone(res.data);
      return;
    }
    if (!isShown(view)) return desk.toast(res.sentence, "error");
    st.error = res.sentence;
    redraw();
  };

  const view = () => html`<form class="panel-form" @submit=${submit} novalidate>
    ${title(t("panel.oos.title"))}
    <p class="panel-hint">${t("panel.oos.intro")}</p>
    ${courierSelect(t, "ps-courier", couriers, form)}
    ${labelled("ps-reason", t("panel.oos.reason"), html`<input id="ps-reason" name="reason" required maxlength="200" ?autofocus=${courierId != null}
      autocomplete="off" .value=${form.reason} @input=${keep(form, "reason")}>`)}
    ${errorLine(st.error)}
    ${actions(t, t("panel.oos.submit"), st.busy)}
  </form>`;
  showDialog(view);
}
