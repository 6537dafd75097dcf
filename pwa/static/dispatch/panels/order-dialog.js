// The same-day order: address with suggestions from the map, customer, slot or window,
// parcels; POST /orders with today's date. A refusal (too late, no bike can fit it) shows
// the server's sentence and the next possible slot.
import { html, nothing } from "../../kit/html.js";
import { SLOTS, sameDayOrderBody, clock } from "./model.js";
import { showDialog, redraw, closeDialog, isShown, title, errorLine, actions, keep, labelled } from "./dialog.js";
import { hubAndDate, send, REPLAN_TIMEOUT_MS } from "./shared.js";

const SUGGEST_WAIT_MS = 200;

export function openOrderDialog(desk) {
  const form = {
    reference: "", customerName: "", address: "", picked: null, slot: "afternoon",
    windowStart: "", windowEnd: "", parcels: "1", weightKg: "2", volumeL: "10",
  };
  const st = { suggestions: [], fix: [], error: "", next: null, busy: false, seq: 0, timer: null };

  const suggest = (text) => {
    clearTimeout(st.timer);
    form.picked = st.suggestions.find((s) => s.label === text) || null;
    if (form.picked || text.trim().length < 2) return;
    st.timer = setTimeout(async () => {
      const seq = ++st.seq;
      const res = await send(desk, "GET", `/geocode/suggest?q=${encodeURIComponent(text.trim())}&limit=8`);
      if (seq !== st.seq) return; // an answer to older typing
      st.suggestions = res.ok && Array.isArray(res.data) ? res.data : [];
      form.picked = st.suggestions.find((s) => s.label === form.address) || null;
      redraw();
    }, SUGGEST_WAIT_MS);
  };

  const submit = async (e) => {
    e.preventDefault();
    if (st.busy) return;
    const { hubId, date } = hubAndDate(desk);
    const built = sameDayOrderBody(form, { hubId, date, now: new Date() });
    st.next = null;
    if (built.error) {
      st.error = desk.t(built.error);
      return redraw();
    }
    st.busy = true;
    st.error = "";
    redraw();
    const res = await send(desk, "POST", "/orders", built.body, { timeout: REPLAN_TIMEOUT_MS });
    st.busy = false;
    if (res.ok) {
      closeDialog(view);
      desk.toast(desk.t("panel.order.taken", { ref: res.data?.reference ?? built.body.reference }));
      return;
    }
    if (!isShown(view)) return desk.toast(res.sentence, "error");
    st.error = res.sentence;
    st.next = res.data?.nextSlot || null;
    st.fix = Array.isArray(res.data?.suggestions) ? res.data.suggestions.slice(0, 6).map(String) : [];
    redraw();
  };

  const pick = (label) => () => {
    form.address = label;
    form.picked = null;
    st.fix = [];
    st.error = "";
    redraw();
    suggest(label);
  };

  const t = desk.t;
  const view = () => html`<form class="panel-form" @submit=${submit} novalidate>
    ${title(t("panel.order.title"))}
    <p class="panel-hint">${t("panel.order.intro")}</p>
    ${labelled("po-address", t("panel.order.address"), html`<input id="po-address" name="address" autocomplete="off"
      list="po-suggestions" required .value=${form.address} @input=${keep(form, "address", suggest)}
      aria-describedby="po-address-hint">`, html`<span id="po-address-hint" class="panel-hint">${form.picked
      ? t("panel.order.onMap") : t("panel.order.suggestHint")}</span>`)}
    <datalist id="po-suggestions">${st.suggestions.map((s) => html`<option value=${s.label}></option>`)}</datalist>
    ${labelled("po-name", t("panel.order.customer"), html`<input id="po-name" name="customerName" required maxlength="120"
      autocomplete="off" .value=${form.customerName} @input=${keep(form, "customerName")}>`)}
    ${labelled("po-slot", t("panel.order.when"), html`<select id="po-slot" name="slot" .value=${form.slot}
      @change=${keep(form, "slot")}>${[...SLOTS, "window"].map((s) => html`<option value=${s}
      ?selected=${form.slot === s}>${t(`panel.slot.${s}`)}</option>`)}</select>`)}
    ${form.slot === "window" ? html`<div class="panel-row">
      ${labelled("po-ws", t("panel.order.from"), html`<input id="po-ws" type="time" required .value=${form.windowStart}
        @input=${keep(form, "windowStart")}>`)}
      ${labelled("po-we", t("panel.order.until"), html`<input id="po-we" type="time" required .value=${form.windowEnd}
        @input=${keep(form, "windowEnd")}>`)}</div>` : nothing}
    <div class="panel-row">
      ${labelled("po-parcels", t("panel.order.parcels"), html`<input id="po-parcels" type="number" min="1" max="50" step="1"
        inputmode="numeric" .value=${form.parcels} @input=${keep(form, "parcels")}>`)}
      ${labelled("po-kg", t("panel.order.weight"), html`<input id="po-kg" type="number" min="0.1" max="200" step="0.1"
        inputmode="decimal" .value=${form.weightKg} @input=${keep(form, "weightKg")}>`)}
      ${labelled("po-l", t("panel.order.volume"), html`<input id="po-l" type="number" min="0.1" max="2000" step="0.1"
        inputmode="decimal" .value=${form.volumeL} @input=${keep(form, "volumeL")}>`)}</div>
    ${labelled("po-ref", t("panel.order.reference"), html`<input id="po-ref" name="reference" maxlength="64"
      autocomplete="off" placeholder=${t("panel.order.referenceAuto")} .value=${form.reference}
      @input=${keep(form, "reference")}>`)}
    ${errorLine(st.error)}
    ${st.fix.length ? html`<p class="panel-hint" id="po-fix">${t("panel.order.didYouMean")}</p>
      <div class="panel-chips" role="group" aria-labelledby="po-fix">
      ${st.fix.map((s) => html`<button type="button" class="panel-btn" @click=${pick(s)}>${s}</button>`)}</div>` : nothing}
    ${st.next ? html`<p class="panel-hint">${t("panel.order.nextSlot", {
      date: st.next.date, start: clock(st.next.start, desk.lang), end: clock(st.next.end, desk.lang) })}</p>` : nothing}
    ${actions(t, t("panel.order.submit"), st.busy)}
  </form>`;
  showDialog(view, { onClose: () => clearTimeout(st.timer) });
}
