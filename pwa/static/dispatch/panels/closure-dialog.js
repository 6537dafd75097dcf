// Close a street (by name) or an area drawn on the map, or a street within the area, from a
// start to an end time today: POST /hubs/{id}/closures. The answer re-plans the day when the
// closure overlaps what is left of it; an unknown street name comes back with suggestions.
import { html, nothing } from "../../kit/html.js";
import { closureBody, replanOutcome } from "./model.js";
import { showDialog, redraw, closeDialog, isShown, whileHidden, title, errorLine, actions, keep, labelled } from "./dialog.js";
import { hubAndDate, send, deskTime, REPLAN_TIMEOUT_MS } from "./shared.js";

export function openClosureDialog(desk, { drawFirst = false } = {}) {
  const form = { reason: "", street: "", start: deskTime(desk), end: deskTime(desk, 120) };
  const st = { area: null, error: "", suggestions: [], busy: false, drawing: false };
  const t = desk.t;

  const draw = async () => {
    st.drawing = true;
    const area = await whileHidden(() => desk.map.drawArea());
    st.drawing = false;
    if (Array.isArray(area) && area.length) st.area = area;
    st.error = area && area.length && area.length < 3 ? t("panel.closure.fewCorners") : "";
    redraw();
  };

  const submit = async (e) => {
    e.preventDefault();
    if (st.busy) return;
    const { hubId, date } = hubAndDate(desk);
    const built = closureBody(form, { date, area: st.area });
    if (built.error) {
      st.error = t(built.error);
      return redraw();
    }
    st.busy = true;
    st.error = "";
    st.suggestions = [];
    redraw();
    const res = await send(desk, "POST", `/hubs/${hubId}/closures`, built.body, { timeout: REPLAN_TIMEOUT_MS });
    st.busy = false;
    if (res.ok) {
      closeDialog(view);
      const streets = (res.data?.streets || []).slice(0, 5).join(", ");
      const replan = res.data?.replan;
      const out = replan ? replanOutcome(replan) : { key: "panel.closure.noReplan", kind: "info" };
      desk.toast(`${t("panel.closure.done", { streets: streets || form.street || "–" })} ${t(out.key, out.params)}`, out.kind);
      return;
    }
    if (!isShown(view)) return desk.toast(res.sentence, "error");
    st.error = res.sentence;
    st.suggestions = Array.isArray(res.data?.suggestions) ? res.data.suggestions.slice(0, 6) : [];
    redraw();
  };

  const pick = (name) => () => {
    form.street = name;
    st.suggestions = [];
    st.error = "";
    redraw();
  };

  const view = () => html`<form class="panel-form" @submit=${submit} novalidate>
    ${title(t("panel.closure.title"))}
    <p class="panel-hint">${t("panel.closure.intro")}</p>
    ${labelled("pc-street", t("panel.closure.street"), html`<input id="pc-street" name="street" maxlength="120"
      autocomplete="off" .value=${form.street} @input=${keep(form, "street")}>`)}
    ${st.suggestions.length ? html`<p class="panel-hint" id="pc-fix">${t("panel.closure.didYouMean")}</p>
      <div class="panel-chips" role="group" aria-labelledby="pc-fix">
      ${st.suggestions.map((s) => html`<button type="button" class="panel-btn" @click=${pick(String(s))}>${s}</button>`)}
      </div>` : nothing}
    <div class="panel-field">
      <span id="pc-area-label">${t("panel.closure.area")}</span>
      <p class="panel-hint" aria-live="polite">${st.area
        ? t("panel.closure.corners", { n: st.area.length }) : t("panel.closure.noArea")}</p>
      <div class="panel-row">
        <button type="button" class="panel-btn" aria-describedby="pc-area-label" @click=${draw}>
          ${st.area ? t("panel.closure.redraw") : t("panel.closure.draw")}</button>
        ${st.area ? html`<button type="button" class="panel-btn" @click=${() => { st.area = null; redraw(); }}>
          ${t("panel.closure.clearArea")}</button>` : nothing}
      </div>
    </div>
    <div class="panel-row">
      ${labelled("pc-start", t("panel.closure.start"), html`<input id="pc-start" type="time" required
        .value=${form.start} @input=${keep(form, "start")}>`)}
      ${labelled("pc-end", t("panel.closure.end"), html`<input id="pc-end" type="time" required
        .value=${form.end} @input=${keep(form, "end")}>`)}</div>
    ${labelled("pc-reason", t("panel.closure.reason"), html`<input id="pc-reason" name="reason" required maxlength="200"
      autocomplete="off" .value=${form.reason} @input=${keep(form, "reason")}>`)}
    ${errorLine(st.error)}
    ${actions(t, t("panel.closure.submit"), st.busy)}
  </form>`;
  showDialog(view);
  if (drawFirst) draw();
}

/** A count from a list or a number (the re-plan answers couriers changed as a list). */
export const countOf = (x) => (Array.isArray(x) ? x.length : Number(x) || 0);
