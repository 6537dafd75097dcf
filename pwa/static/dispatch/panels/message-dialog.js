// A message to a courier: POST /couriers/{id}/messages, 1–500 characters, the count shown
// as it is typed; the courier's phone shows it as a banner and gets a push.
import { html } from "../../kit/html.js";
import { MESSAGE_MAX, checkMessage, courierChoices } from "./model.js";
import { showDialog, redraw, closeDialog, isShown, title, errorLine, actions, keep, labelled } from "./dialog.js";
import { send } from "./shared.js";

export function openMessageDialog(desk, { courierId = null, onSent } = {}) {
  const couriers = courierChoices(desk.store.getState());
  const form = { courierId: String(courierId ?? couriers[0]?.id ?? ""), text: "" };
  const st = { error: "", busy: false, tried: false };
  const t = desk.t;

  const submit = async (e) => {
    e.preventDefault();
    if (st.busy) return;
    st.tried = true;
    const check = checkMessage(form.text);
    if (!form.courierId) st.error = t("panel.needCourier");
    else st.error = check.ok ? "" : t(check.error);
    if (st.error) return redraw();
    st.busy = true;
    redraw();
    const res = await send(desk, "POST", `/couriers/${encodeURIComponent(form.courierId)}/messages`, { text: check.text });
    st.busy = false;
    if (res.ok) {
      closeDialog(view);
      desk.toast(t("panel.msg.sent", { courier: nameOf(couriers, form.courierId) }));
      if (onSent) onSent(res.data);
      return;
    }
    if (!isShown(view)) return desk.toast(res.sentence, "error");
    st.error = res.sentence;
    redraw();
  };

  const view = () => {
    const c = checkMessage(form.text);
    return html`<form class="panel-form" @submit=${submit} novalidate>
    ${title(t("panel.msg.title"))}
    ${courierSelect(t, "pm-courier", couriers, form)}
    ${labelled("pm-text", t("panel.msg.text"), html`<textarea id="pm-text" name="text" rows="4" ?autofocus=${courierId != null}
      aria-describedby="pm-count" aria-invalid=${c.length > MESSAGE_MAX ? "true" : "false"}
      .value=${form.text} @input=${keep(form, "text")}></textarea>`,
      html`<span id="pm-count" class=${c.left < 0 ? "panel-hint panel-over" : "panel-hint"} aria-live="polite">
        ${c.left >= 0 ? t("panel.msg.left", { n: c.left, max: MESSAGE_MAX }) : t("panel.msg.over", { n: -c.left, max: MESSAGE_MAX })}
      </span>`)}
    ${errorLine(st.error)}
    ${actions(t, t("panel.msg.submit"), st.busy)}
  </form>`;
  };
  showDialog(view);
}

/** The courier chooser of a dialog (preselected when opened from a courier's details). */
export function courierSelect(t, id, couriers, form) {
  if (!couriers.length) return html`<p class="panel-hint">${t("panel.noCouriers")}</p>`;
  return labelled(id, t("panel.courier"), html`<select id=${id} name="courierId"
    @change=${keep(form, "courierId")}>${couriers.map((c) => html`<option value=${String(c.id)}
    ?selected=${String(c.id) === form.courierId}>${c.name}${c.bikeName ? ` · ${c.bikeName}` : ""}</option>`)}</select>`);
}

export const nameOf = (couriers, id) => couriers.find((c) => String(c.id) === String(id))?.name || `#${id}`;
