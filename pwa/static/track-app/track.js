// The customer's tracking page: polls the order's status; no login, the link is the key.
import { html, render, nothing } from "../kit/html.js";
import { createI18n, translateDom } from "../kit/i18n.js";
import { mountLangSwitch } from "../kit/lang-switch.js";
import { uuid } from "../kit/queue.js";
import kitEn from "../kit/messages/en.js";
import kitNl from "../kit/messages/nl.js";
import en from "./messages/en.js";
import nl from "./messages/nl.js";
import { headline, whereText, span, choiceLabel, redirectBody, doneText, refusedText, missedText, dayText } from "./view.js";

const i18n = createI18n({ en: { ...kitEn, ...en }, nl: { ...kitNl, ...nl } });
const { t } = i18n;
const token = location.pathname.split("/").filter(Boolean)[1];
const base = `/track/${encodeURIComponent(token)}`;

const state = {
  body: null,        // the last status answer
  error: null,       // why the link does not work
  options: [],       // the redirect choices offered now
  choice: null,      // index of the chosen option
  address: "",
  sending: false,
  result: null,      // {text, bad}
  notify: null,      // message key after the push button was used
};
let pending = null; // {text, key}: a retry of the same choice reuses its key, so it cannot apply twice
let map = null, marker = null;

function page() {
  const b = state.body;
  if (state.error) return html`<p id="error" class="error">${state.error}</p>`;
  const missed = b?.missed ? missedText(b.missed, t, i18n.clock, (iso) => dayText(iso, i18n.lang)) : null;
  const [title, detail] = missed ? [t("track.missed.title"), missed.why] : b ? headline(b, t) : [t("track.loading"), ""];
  const canPush = "serviceWorker" in navigator && "PushManager" in window;
  const chosen = state.options[state.choice];
  return html`
    <section id="card" class="card" ?hidden=${!b}>
      <p class="muted">${b ? t("track.order", { reference: b.reference }) : ""}</p>
      <h1 id="headline">${title}</h1>
      <p id="detail" class="detail">${detail}</p>
      ${missed ? missedBlock(missed) : nothing}
      <div class="times">
        <div><span class="label">${t("track.expected")}</span><strong id="eta">${span(b?.etaWindow, i18n.clock)}</strong></div>
        <div><span class="label">${t("track.window")}</span><strong id="window">${span(b?.window, i18n.clock)}</strong></div>
      </div>
      <p id="address" class="muted">${b ? whereText(b, t) : ""}</p>
      <div id="map" role="img" aria-label=${t("track.map")} ?hidden=${!b?.courierPosition}></div>
      ${canPush && b && !["delivered", "failed"].includes(b.status)
        ? html`<button id="notify" type="button" @click=${subscribe}>${t(state.notify || "track.notify")}</button>` : nothing}
    </section>
    ${state.options.length ? html`
      <section id="redirect" class="card" aria-labelledby="redirect-title">
        <h2 id="redirect-title">${t("track.change.title")}</h2>
        <form id="redirect-form" @submit=${send}>
          <fieldset>
            <legend>${t("track.change.legend")}</legend>
            <div id="choices">${state.options.map((o, i) => choiceRow(o, i))}</div>
          </fieldset>
          ${chosen?.kind === "address" ? html`
            <div id="address-field">
              <label for="new-address">${t("track.change.newAddress")}</label>
              <input id="new-address" name="address" autocomplete="street-address" required
                placeholder=${t("track.change.addressPlaceholder")} .value=${state.address}
                @input=${(e) => { state.address = e.target.value; }}>
            </div>` : nothing}
          <button id="redirect-send" type="submit" ?disabled=${state.sending}>${t("track.change.send")}</button>
        </form>
      </section>` : nothing}
    ${state.result ? html`<p id="redirect-result" class=${state.result.bad ? "result bad" : "result"} role="status"
      aria-live="polite">${state.result.text}</p>` : nothing}`;
}

// Where the parcel is after a missed delivery, until when, and the code to collect it (big).
function missedBlock(m) {
  return html`<div id="missed" class="missed">
    <p id="missed-where" class="missed-where">${m.where}</p>
    ${m.address ? html`<p id="missed-address">${m.address}</p>` : nothing}
    ${m.hours ? html`<p id="missed-hours" class="muted">${m.hours}</p>` : nothing}
    ${m.until ? html`<p id="missed-until"><strong>${m.until}</strong></p>` : nothing}
    ${m.code ? html`<p class="code-label">${t("track.missed.code")}</p>
      <p id="missed-code" class="code">${m.code}</p>` : nothing}
    ${state.options.length ? html`<p class="muted">${t("track.missed.again")}</p>` : nothing}
  </div>`;
}

function choiceRow(o, i) {
  const [title, sub] = choiceLabel(o, t, i18n.number);
  return html`<label class="choice">
    <input type="radio" name="choice" value=${String(i)} required .checked=${state.choice === i}
      @change=${() => { state.choice = i; draw(); }}>
    <span>${title}<small>${sub}</small></span></label>`;
}

function draw() {
  render(page(), document.getElementById("app"));
  showCourier(state.body?.courierPosition);
}

async function refresh() {
  const r = await fetch(`${base}/status`);
  const body = await r.json().catch(() => ({}));
  if (!r.ok) {
    state.error = body.detail || t("track.badLink");
    draw();
    return false;
  }
  state.error = null;
  state.body = body;
  setOptions(body.redirectOptions || []);
  draw();
  return body.status !== "delivered";
}

function setOptions(options) {
  // Keep what the customer is choosing while the page refreshes with the same choices.
  if (JSON.stringify(options) === JSON.stringify(state.options)) return;
  state.options = options;
  if (state.choice !== null && state.choice >= options.length) state.choice = null;
}

function showCourier(pos) {
  if (!pos || !window.L) return;
  if (!map) {
    map = L.map("map", { attributionControl: true }).setView([pos.lat, pos.lon], 16);
    fetch("/map/streets.geojson").then((r) => r.json()).then((g) =>
      L.geoJSON(g, { style: { color: "#888", weight: 2 } }).addTo(map));
    map.attributionControl.addAttribution("© OpenStreetMap contributors (ODbL)");
    marker = L.circleMarker([pos.lat, pos.lon], { radius: 10, color: "#0b4f3a", fillOpacity: 0.9 }).addTo(map);
  }
  marker.setLatLng([pos.lat, pos.lon]);
}

async function send(event) {
  event.preventDefault();
  const o = state.options[state.choice];
  if (!o) return;
  const text = JSON.stringify(redirectBody(o, state.address));
  if (!pending || pending.text !== text) pending = { text, key: uuid() };
  state.sending = true;
  state.result = { text: t("track.change.checking"), bad: false };
  draw();
  try {
    const r = await fetch(`${base}/redirect`, {
      method: "POST", headers: { "content-type": "application/json", "idempotency-key": pending.key }, body: text,
    });
    const answer = await r.json().catch(() => ({}));
    pending = null; // answered: the next attempt is a new choice
    state.result = r.ok ? { text: doneText(answer, t), bad: false } : { text: refusedText(answer, t), bad: true };
    if (r.ok) state.choice = null;
    await refresh().catch(() => {});
    if (!r.ok && Array.isArray(answer.redirectOptions)) setOptions(answer.redirectOptions); // the alternatives
  } catch {
    state.result = { text: t("track.change.offline"), bad: true };
  } finally {
    state.sending = false;
    draw();
  }
}

async function subscribe() {
  try {
    const reg = await navigator.serviceWorker.register("/track-app/sw.js", { scope: "/track-app/" });
    const { publicKey } = await (await fetch("/push/key")).json();
    const key = Uint8Array.from(atob(publicKey.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
    const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    const r = await fetch(`${base}/push`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(sub.toJSON()),
    });
    state.notify = r.ok ? "track.notify.on" : "track.notify.failed";
  } catch {
    state.notify = "track.notify.unsupported";
  }
  draw();
}

async function loop() {
  const again = await refresh().catch(() => true);
  if (again) setTimeout(loop, 20000);
}

translateDom(document, i18n);
mountLangSwitch(document.getElementById("lang"), i18n, { short: true });
i18n.onChange(() => { translateDom(document, i18n); draw(); });
draw();
loop();
