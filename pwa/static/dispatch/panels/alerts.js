// Open alerts, translated by kind, each with "acknowledge"; acknowledged ones with who and when.
// Loaded once (GET /hubs/{id}/alerts), then kept by the store from alert.* events.
import { html, nothing } from "../../kit/html.js";
import { alertView, sortAlerts, mergeAlerts, namer } from "./model.js";
import { ui, hubAndDate, send } from "./shared.js";

const SHOWN = 40; // alerts drawn at most per list (newest first); the count says how many more

/** The alerts the desk knows: the store's (alert.raised / alert.acknowledged), else the panel's own. */
function alertsOf(desk, state) {
  return typeof desk.store.setAlerts === "function" && state.alerts instanceof Map ? state.alerts : ui.alerts.own;
}

function keepAlerts(desk, list) {
  ui.alerts.own = list;
  if (typeof desk.store.setAlerts === "function") desk.store.setAlerts(list);
}

/** Load the day's alerts, open and acknowledged, into the store. */
export async function loadAlerts(desk) {
  const { hubId, date } = hubAndDate(desk);
  if (hubId == null) return;
  const base = `/hubs/${hubId}/alerts?date=${encodeURIComponent(date)}`;
  const [open, done] = await Promise.all([send(desk, "GET", `${base}&open=true`), send(desk, "GET", `${base}&open=false`)]);
  if (!open.ok) {
    ui.alerts.error = open.sentence;
  } else {
    ui.alerts.error = "";
    keepAlerts(desk, mergeAlerts(done.ok ? done.data : [], open.data));
  }
  desk.rerender();
}

async function acknowledge(desk, alertId) {
  const a = ui.alerts;
  if (a.busy.has(alertId)) return false;
  a.busy.add(alertId);
  desk.rerender();
  const res = await send(desk, "POST", `/alerts/${encodeURIComponent(alertId)}/acknowledge`);
  a.busy.delete(alertId);
  if (res.ok && res.data) {
    const list = [...alertsOf(desk, desk.store.getState()).values()];
    keepAlerts(desk, mergeAlerts(list, [res.data]));
  } else if (!res.ok) {
    desk.toast(res.sentence, "error");
  }
  desk.rerender();
  return res.ok;
}

/** Acknowledge every open alert shown, one after the other; stops at the first refusal. */
async function acknowledgeAll(desk, ids) {
  for (const id of ids) if (!(await acknowledge(desk, id))) return;
}

function show(desk, state, target) {
  desk.store.select(target);
  const stop = target.kind === "stop" ? state.stops?.get?.(target.id) : null;
  const pos = target.kind === "courier" ? state.positions?.get?.(target.id) : null;
  const at = stop || pos;
  if (at && at.lat != null) desk.map.focus(at.lat, at.lon);
}

export function alertsPanel(desk) {
  const t = desk.t;
  const state = desk.store.getState();
  const names = namer(state);
  // Views (translated, clocks formatted) only for the alerts drawn: a busy day raises thousands.
  const all = sortAlerts(alertsOf(desk, state));
  const openAll = all.filter((x) => !x.acknowledgedAt);
  const ackedAll = all.filter((x) => x.acknowledgedAt);
  const view = (x) => alertView(x, { t, lang: desk.lang, names });
  const open = openAll.slice(0, SHOWN).map(view);
  const a = ui.alerts;
  const acked = a.showAcknowledged ? ackedAll.slice(0, SHOWN).map(view) : [];
  const toggle = () => { a.showAcknowledged = !a.showAcknowledged; desk.rerender(); };
  return html`<section class="panel panel-alerts" aria-labelledby="panel-alerts-h" data-panel="alerts">
    <div class="panel-head"><h2 id="panel-alerts-h">${t("panel.alerts.title", { n: openAll.length })}</h2>
      <button type="button" class="panel-btn" aria-pressed=${a.showAcknowledged ? "true" : "false"} @click=${toggle}>
        ${t("panel.alerts.showAcknowledged", { n: ackedAll.length })}</button></div>
    ${a.error ? html`<p class="panel-error" role="alert">${a.error}</p>` : nothing}
    ${openAll.length > 1 ? html`<button type="button" class="panel-btn" ?disabled=${a.busy.size > 0}
      @click=${() => acknowledgeAll(desk, openAll.map((x) => x.id))}>${t("panel.alerts.acknowledgeAll", { n: openAll.length })}</button>` : nothing}
    ${open.length ? html`<ul class="panel-alert-list">${open.map((v) => item(desk, state, v))}</ul>`
      : html`<p class="panel-hint">${t("panel.alerts.none")}</p>`}
    ${openAll.length > SHOWN ? html`<p class="panel-hint">${t("panel.alerts.more", { n: openAll.length - SHOWN })}</p>` : nothing}
    ${a.showAcknowledged && acked.length ? html`<h3>${t("panel.alerts.acknowledged")}</h3>
      <ul class="panel-alert-list acknowledged">${acked.map((v) => item(desk, state, v))}</ul>` : nothing}
  </section>`;
}

function item(desk, state, v) {
  const t = desk.t;
  const busy = ui.alerts.busy.has(v.id);
  return html`<li class="panel-alert kind-${v.kind}" data-alert-id=${String(v.id)}>
    <div><strong>${v.title}</strong> <time>${v.raisedAt}</time></div>
    <p>${v.text}</p>
    ${v.note ? html`<p class="panel-hint" lang="en">${v.note}</p>` : nothing}
    ${v.open ? nothing : html`<p class="panel-hint">${t("panel.alerts.ackBy", { name: v.ackBy || "–", at: v.ackAt })}</p>`}
    <div class="panel-row">
      ${v.open ? html`<button type="button" class="panel-btn primary" ?disabled=${busy} data-action="acknowledge"
        @click=${() => acknowledge(desk, v.id)}>${t("panel.alerts.acknowledge")}</button>` : nothing}
      ${v.target ? html`<button type="button" class="panel-btn" @click=${() => show(desk, state, v.target)}>
        ${t("panel.alerts.show")}</button>` : nothing}
    </div></li>`;
}
