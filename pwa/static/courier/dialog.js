// The modal dialog: a question with buttons, answered with the pressed button's value.
import { html, render } from "../kit/html.js";
import { $, t, i18n } from "./store.js";

/** Ask with ``body`` (a template) and buttons [[value, text, class]]; resolves to the value or "cancel". */
export function ask(body, buttons) {
  const dialog = $("#dialog");
  render(body, $("#dialog-body"));
  render(buttons.map(([value, text, cls]) => html`<button class="btn big ${cls || ""}" value=${value}>${text}</button>`),
    $("#dialog-actions"));
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue || "cancel"), { once: true });
    dialog.returnValue = "";
    if (dialog.open) dialog.close();
    dialog.showModal();
  });
}

export function summaryFigures(s) {
  const km = s.distanceM != null ? i18n.number(s.distanceM / 1000, { minimumFractionDigits: 1, maximumFractionDigits: 1 }) : "–";
  const fig = (n, key) => html`<div><strong>${n}</strong><span>${t(key)}</span></div>`;
  return html`<div class="figures">
    ${fig(s.delivered ?? 0, "shift.delivered")}${fig(s.failed ?? 0, "shift.failed")}
    ${fig(s.collected ?? 0, "shift.collected")}${fig(s.remaining ?? 0, "shift.remaining")}
    ${fig(km, "shift.km")}</div>`;
}

export function showSummary(summary) {
  ask(html`<h2>${t("shift.endedTitle")}</h2>${summaryFigures(summary)}<p>${t("shift.thanks")}</p>`,
    [["ok", t("shift.doneBtn"), "primary"]]);
}
