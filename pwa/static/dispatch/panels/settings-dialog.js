// The hub's settings on the desk, one form each, saved apart: how the hub picks (PUT
// /hubs/{id}/picking-settings, an Idempotency-Key per save), the prefix and suffix its
// keyboard-wedge scanners send (PUT /hubs/{id}/scanner) and a shop's packing options (PUT
// /shops/{id}/packing). A refusal shows the server's sentence under its form.
import { html, nothing } from "../../kit/html.js";
import { uuid } from "../../kit/queue.js";
import { showDialog, redraw, closeDialog, title, errorLine, labelled } from "./dialog.js";
import { hubAndDate, send } from "./shared.js";
import {
  MODES, pickingForm, pickingBody, scannerForm, scannerBody, packingForm, packingBody, shopChoices,
} from "./settings-model.js";

const part = () => ({ form: null, error: "", saved: "", busy: false, field: "" });

export function openSettingsDialog(desk) {
  const t = desk.t;
  const { hubId, state } = hubAndDate(desk);
  const shops = shopChoices(state);
  const st = { picking: part(), scanner: part(), packing: { ...part(), shopId: String(shops[0]?.id ?? "") } };

  const load = async (what, path, toForm, wanted = () => true) => {
    const res = await send(desk, "GET", path);
    if (!wanted()) return; // another shop was chosen meanwhile: its answer decides
    Object.assign(st[what], res.ok ? { form: toForm(res.data), error: "" } : { error: res.sentence });
    redraw();
  };
  const loadPacking = () => {
    const id = st.packing.shopId;
    st.packing.form = null;
    if (id) load("packing", `/shops/${encodeURIComponent(id)}/packing`, packingForm, () => st.packing.shopId === id);
  };

  /** Save one form: its PUT, then its answer as the form again, or the server's sentence. */
  const save = async (what, path, body, toForm, key) => {
    const s = st[what];
    if (s.busy) return;
    Object.assign(s, { busy: true, error: "", saved: "", field: "" });
    redraw();
    const res = await send(desk, "PUT", path, body, key ? { key } : {});
    s.busy = false;
    if (res.ok) Object.assign(s, { form: toForm(res.data), saved: t("panel.settings.saved") });
    else Object.assign(s, { error: res.sentence, field: res.data?.field ?? "" });
    redraw();
  };

  const submitPicking = (e) => {
    e.preventDefault();
    const out = pickingBody(st.picking.form);
    if (out.error) {
      Object.assign(st.picking, { error: t(out.error), field: out.field, saved: "" });
      return redraw();
    }
    save("picking", `/hubs/${hubId}/picking-settings`, out.body, pickingForm, uuid());
  };
  const submitScanner = (e) => {
    e.preventDefault();
    save("scanner", `/hubs/${hubId}/scanner`, scannerBody(st.scanner.form), scannerForm);
  };
  const submitPacking = (e) => {
    e.preventDefault();
    const id = encodeURIComponent(st.packing.shopId);
    save("packing", `/shops/${id}/packing`, packingBody(st.packing.form), packingForm);
  };

  const edit = (s, key, value = (e) => e.target.value) => (e) => {
    s.form[key] = value(e);
    s.saved = "";
    redraw();
  };
  const checked = (e) => e.target.checked;
  const invalid = (s, field) => (s.field === field ? "true" : "false");
  const saveButton = (s) => html`<div class="panel-actions"><button type="submit" class="panel-btn primary"
    ?disabled=${s.busy} aria-busy=${s.busy ? "true" : "false"}>${s.busy ? t("panel.sending") : t("panel.settings.save")}</button></div>`;
  const outcome = (s) => html`${errorLine(s.error)}<p class="panel-hint" role="status">${s.saved}</p>`;
  const loading = (s) => (s.error ? errorLine(s.error) : html`<p class="panel-hint">${t("panel.loading")}</p>`);

  const pickingPart = () => {
    const s = st.picking;
    if (!s.form) return loading(s);
    const f = s.form;
    const num = (id, key, label) => labelled(id, label, html`<input id=${id} name=${key} inputmode="decimal"
      autocomplete="off" aria-invalid=${invalid(s, key)} .value=${f[key]} @input=${edit(s, key)}>`);
    return html`<form class="panel-form" data-settings="picking" aria-labelledby="st-picking-h" @submit=${submitPicking} novalidate>
      ${labelled("st-mode", t("panel.settings.mode"), html`<select id="st-mode" name="mode" @change=${edit(s, "mode")}>
        ${MODES.map((m) => html`<option value=${m} ?selected=${f.mode === m}>${t(`panel.settings.mode.${m}`)}</option>`)}</select>`)}
      <div class="panel-row">
        ${num("st-totes", "totes", t("panel.settings.totes"))}
        ${num("st-volume", "toteVolume", t("panel.settings.toteVolume"))}
        ${num("st-weight", "toteWeight", t("panel.settings.toteWeight"))}
      </div>
      ${num("st-lead", "leadMinutes", t("panel.settings.lead"))}
      ${outcome(s)}${saveButton(s)}
    </form>`;
  };

  const scannerPart = () => {
    const s = st.scanner;
    if (!s.form) return loading(s);
    const affix = (id, key, label) => labelled(id, label, html`<input id=${id} name=${key} maxlength="8" autocomplete="off"
      spellcheck="false" aria-describedby="st-scanner-hint" aria-invalid=${invalid(s, key)} .value=${s.form[key]} @input=${edit(s, key)}>`);
    return html`<form class="panel-form" data-settings="scanner" aria-labelledby="st-scanner-h" @submit=${submitScanner} novalidate>
      <p class="panel-hint" id="st-scanner-hint">${t("panel.settings.scannerHint")}</p>
      <div class="panel-row">${affix("st-prefix", "prefix", t("panel.settings.prefix"))}${affix("st-suffix", "suffix", t("panel.settings.suffix"))}</div>
      ${outcome(s)}${saveButton(s)}
    </form>`;
  };

  const packingPart = () => {
    const s = st.packing;
    if (!shops.length) return html`<p class="panel-hint">${t("panel.settings.noShops")}</p>`;
    const pickShop = (e) => { s.shopId = e.target.value; Object.assign(s, { error: "", saved: "" }); loadPacking(); redraw(); };
    const box = (key, label) => html`<label class="panel-check"><input type="checkbox" name=${key} .checked=${s.form[key]}
      @change=${edit(s, key, checked)}><span>${label}</span></label>`;
    return html`<form class="panel-form" data-settings="packing" aria-labelledby="st-packing-h" @submit=${submitPacking} novalidate>
      ${labelled("st-shop", t("panel.settings.shop"), html`<select id="st-shop" name="shop" @change=${pickShop}>
        ${shops.map((p) => html`<option value=${String(p.id)} ?selected=${String(p.id) === s.shopId}>${p.name}</option>`)}</select>`)}
      ${!s.form ? loading(s) : html`
        ${box("brandedBox", t("panel.settings.brandedBox"))}
        ${box("giftWrap", t("panel.settings.giftWrap"))}
        ${box("card", t("panel.settings.card"))}
        ${s.form.card ? labelled("st-card", t("panel.settings.cardMessage"), html`<textarea id="st-card" name="cardMessage" rows="2"
          maxlength="300" .value=${s.form.cardMessage} @input=${edit(s, "cardMessage")}></textarea>`) : nothing}
        ${outcome(s)}${saveButton(s)}`}
    </form>`;
  };

  const view = () => html`<div class="panel-settings">
    ${title(t("panel.settings.title"))}
    <section><h3 id="st-picking-h">${t("panel.settings.picking")}</h3>${pickingPart()}</section>
    <section><h3 id="st-scanner-h">${t("panel.settings.scanner")}</h3>${scannerPart()}</section>
    <section><h3 id="st-packing-h">${t("panel.settings.packing")}</h3>${packingPart()}</section>
    <div class="panel-actions"><button type="button" class="panel-btn" @click=${() => closeDialog()}>${t("panel.close")}</button></div>
  </div>`;

  showDialog(view);
  load("picking", `/hubs/${hubId}/picking-settings`, pickingForm);
  load("scanner", `/hubs/${hubId}/scanner`, scannerForm);
  loadPacking();
}
