// The customer's return portal: order number + postcode -> items with reasons -> refund or
// exchange -> a pickup point (code + QR) or a courier slot -> confirmation. No login.
import { html, render, nothing } from "../kit/html.js";
import { createI18n, translateDom } from "../kit/i18n.js";
import { mountLangSwitch } from "../kit/lang-switch.js";
import { request, problemSentence } from "../kit/api.js";
import { uuid } from "../kit/queue.js";
import kitEn from "../kit/messages/en.js";
import kitNl from "../kit/messages/nl.js";
import en from "./messages/en.js";
import nl from "./messages/nl.js";

const i18n = createI18n({ en: { ...kitEn, ...en }, nl: { ...kitNl, ...nl } });
const { t } = i18n;

const state = {
  orderNumber: "", postcode: "",
  found: null,      // the portal's answer for the order
  picked: {},       // lineId -> {on, quantity, reason, text}
  outcome: "refund",
  handIn: "pickup_point",
  point: "", slot: "",
  error: "", sending: false,
  done: null,       // the registered return
};
let key = null; // one Idempotency-Key per return: a retry after a lost answer registers nothing twice

const money = (cents) => i18n.number(cents / 100, { style: "currency", currency: "EUR" });
const date = (iso) => new Intl.DateTimeFormat(i18n.lang, { weekday: "long", day: "numeric", month: "long" })
  .format(new Date(`${iso}T12:00:00`));

async function find(e) {
  e.preventDefault();
  state.sending = true; state.error = ""; draw();
  const res = await call("POST", "/portal/returns/find", { orderNumber: state.orderNumber, postcode: state.postcode });
  state.sending = false;
  if (res && res.ok) {
    state.found = res.data; state.picked = {}; key = uuid();
    state.point = String(res.data.pickupPoints[0]?.id ?? "");
    const s = res.data.courierSlots[0];
    state.slot = s ? `${s.date}|${s.slot}` : "";
  }
  draw();
}

async function call(method, path, body, opts = {}) {
  try {
    const res = await request(method, path, { body, ...opts });
    if (!res.ok) state.error = problemSentence(res, t, i18n.lang);
    return res;
  } catch {
    state.error = t("error.network");
    return null;
  }
}

async function send(e) {
  e.preventDefault();
  const items = Object.entries(state.picked).filter(([, p]) => p.on)
    .map(([lineId, p]) => ({ lineId: Number(lineId), quantity: p.quantity, reason: p.reason, text: p.text }));
  if (!items.length) { state.error = t("ret.items.none"); draw(); return; }
  const body = {
    orderNumber: state.orderNumber, postcode: state.postcode, items, outcome: state.outcome, handIn: state.handIn,
  };
  if (state.handIn === "pickup_point") body.pickupPointId = Number(state.point);
  else [body.date, body.slot] = state.slot.split("|");
  state.sending = true; state.error = ""; draw();
  const res = await call("POST", "/portal/returns/", body, { key });
  state.sending = false;
  if (res && res.ok) state.done = res.data;
  draw();
}

function again() {
  Object.assign(state, { found: null, done: null, picked: {}, error: "" });
  draw();
}

function pick(lineId) {
  return state.picked[lineId] ||= { on: false, quantity: 1, reason: "too_small", text: "" };
}

function findCard() {
  return html`
    <section class="card" aria-labelledby="find-title">
      <h1 id="find-title">${t("ret.find.title")}</h1>
      <p class="muted">${t("ret.find.intro")}</p>
      <form id="find" @submit=${find}>
        <label for="order-number">${t("ret.find.order")}</label>
        <input id="order-number" type="text" required autocomplete="off" .value=${state.orderNumber}
          @input=${(e) => { state.orderNumber = e.target.value; }}>
        <label for="postcode">${t("ret.find.postcode")}</label>
        <input id="postcode" type="text" required autocomplete="postal-code" .value=${state.postcode}
          @input=${(e) => { state.postcode = e.target.value; }}>
        <button id="find-send" type="submit" ?disabled=${state.sending}>${t("ret.find.send")}</button>
      </form>
    </section>`;
}

/** Why an item cannot go back, in the page's language (the server's sentence for a reason it has no words for). */
function whyNot(it) {
  const key = `ret.why.${it.code}`;
  const text = t(key, { date: state.found.lastDay ? date(state.found.lastDay) : "" });
  return text === key ? it.whyNot : text;
}

function itemRow(it, fees) {
  const p = pick(it.lineId);
  const id = `item-${it.lineId}`;
  if (!it.returnable) {
    return html`<div class="item"><label class="choice"><input type="checkbox" disabled>
      <span>${it.name} × ${it.quantity}</span></label><p class="why">${whyNot(it)}</p></div>`;
  }
  return html`<div class="item">
    <label class="choice"><input id=${id} type="checkbox" .checked=${p.on}
      @change=${(e) => { p.on = e.target.checked; draw(); }}><span>${it.name} × ${it.quantity}</span></label>
    ${p.on ? html`<div class="details">
      ${it.returnable > 1 ? html`
        <label for=${`${id}-qty`}>${t("ret.items.quantity")}</label>
        <select id=${`${id}-qty`} @change=${(e) => { p.quantity = Number(e.target.value); }}>
          ${Array.from({ length: it.returnable }, (_, i) => html`<option value=${i + 1} ?selected=${p.quantity === i + 1}>${i + 1}</option>`)}
        </select>` : nothing}
      <label for=${`${id}-reason`}>${t("ret.items.reason")}</label>
      <select id=${`${id}-reason`} @change=${(e) => { p.reason = e.target.value; draw(); }}>
        ${state.found.reasons.map((r) => html`<option value=${r} ?selected=${p.reason === r}>${t(`ret.reason.${r}`)}</option>`)}
      </select>
      ${fees[p.reason] ? html`<p class="muted">${t("ret.items.fee", { fee: money(fees[p.reason]) })}</p>` : nothing}
      ${p.reason === "other" ? html`
        <label for=${`${id}-text`}>${t("ret.items.text")}</label>
        <textarea id=${`${id}-text`} required maxlength="500" .value=${p.text}
          @input=${(e) => { p.text = e.target.value; }}></textarea>` : nothing}
    </div>` : nothing}
  </div>`;
}

function radio(name, value, current, label, onPick) {
  return html`<label class="choice"><input type="radio" name=${name} value=${value} .checked=${current === value}
    @change=${() => { onPick(value); draw(); }}><span>${label}</span></label>`;
}

function requestCard() {
  const f = state.found;
  const bonus = f.exchangeBonusCents;
  return html`
    <form id="request" class="card" @submit=${send}>
      <p class="muted">${f.orderNumber}${f.lastDay ? html` · ${t("ret.window", { date: date(f.lastDay) })}` : nothing}</p>
      ${f.returns.length ? html`<section id="earlier" aria-labelledby="earlier-title">
        <h2 id="earlier-title">${t("ret.earlier.title")}</h2>
        ${f.returns.map((r) => html`<p class="earlier"><strong>${r.code}</strong> · ${t(`ret.status.${r.status}`)}
          · ${r.lines.map((l) => `${l.quantity} × ${l.sku}`).join(", ")}</p>`)}
      </section>` : nothing}
      <fieldset><legend>${t("ret.items.legend")}</legend>${f.items.map((it) => itemRow(it, f.fees))}</fieldset>
      <fieldset><legend>${t("ret.outcome.legend")}</legend>
        ${radio("outcome", "refund", state.outcome, t("ret.outcome.refund"), (v) => { state.outcome = v; })}
        ${radio("outcome", "exchange", state.outcome,
          bonus ? t("ret.outcome.bonus", { bonus: money(bonus) }) : t("ret.outcome.exchange"), (v) => { state.outcome = v; })}
        <p id="exchange-hint" class="muted">${t("ret.outcome.exchangeHint")}</p>
      </fieldset>
      <fieldset><legend>${t("ret.handin.legend")}</legend>
        ${radio("hand-in", "pickup_point", state.handIn, t("ret.handin.pickup_point"), (v) => { state.handIn = v; })}
        ${radio("hand-in", "courier", state.handIn, t("ret.handin.courier"), (v) => { state.handIn = v; })}
        ${state.handIn === "pickup_point" ? html`
          <label for="point">${t("ret.handin.point")}</label>
          <select id="point" @change=${(e) => { state.point = e.target.value; }}>
            ${f.pickupPoints.map((p) => html`<option value=${p.id} ?selected=${state.point === String(p.id)}>${p.name}${p.address ? `, ${p.address}` : ""}</option>`)}
          </select>` : html`
          <label for="slot">${t("ret.handin.slot")}</label>
          <select id="slot" @change=${(e) => { state.slot = e.target.value; }}>
            ${f.courierSlots.map((s) => html`<option value=${`${s.date}|${s.slot}`} ?selected=${state.slot === `${s.date}|${s.slot}`}>${t(`ret.slot.${s.slot}`, { date: date(s.date), start: s.start, end: s.end })}</option>`)}
          </select>`}
      </fieldset>
      <button id="send" type="submit" ?disabled=${state.sending}>${t(state.sending ? "ret.sending" : "ret.send")}</button>
    </form>`;
}

function doneCard() {
  const d = state.done;
  const where = d.handIn === "pickup_point"
    ? t("ret.done.point", { point: d.pickupPoint?.name ?? "" })
    : t("ret.done.courier", { date: date(d.collect.date), slot: t(`ret.slotname.${d.collect.slot}`) });
  return html`
    <section id="done" class="card" aria-labelledby="done-title">
      <h1 id="done-title">${t("ret.done.title")}</h1>
      <p>${t("ret.done.code")}</p>
      <p id="code" class="code">${d.code}</p>
      <img class="qr" src=${d.qr} alt=${t("ret.done.qr", { code: d.code })}>
      <p id="where">${where}</p>
      ${d.feeCents ? html`<p>${t("ret.done.fee", { fee: money(d.feeCents) })}</p>` : nothing}
      ${d.outcome === "exchange" ? html`<p id="exchange-done">${t("ret.done.exchange")}</p>` : nothing}
      ${d.bonusCents ? html`<p>${t("ret.done.bonus", { bonus: money(d.bonusCents) })}</p>` : nothing}
      <button id="again" type="button" @click=${again}>${t("ret.done.another")}</button>
    </section>`;
}

function draw() {
  const body = state.done ? doneCard() : state.found ? requestCard() : findCard();
  render(html`${body}${state.error ? html`<p id="error" class="error" role="alert">${state.error}</p>` : nothing}`,
    document.getElementById("app"));
}

translateDom(document, i18n);
mountLangSwitch(document.getElementById("lang"), i18n, { short: true });
i18n.onChange(() => { translateDom(document, i18n); draw(); });
draw();
