// The details of what is selected on the map or the timeline: a stop (order, parcels,
// history, proof: GET /stops/{id}/detail) or a courier (ridden trail on the map, speed,
// last position, range left: GET /couriers/{id}/trail; messages sent; message, out of service).
import { html, nothing } from "../../kit/html.js";
import { clock, historyRows, trailView, translated, stopSignature, gpxUrl, namer, num, mergeMessages } from "./model.js";
import { ui, hubAndDate, send } from "./shared.js";
import { openMessageDialog } from "./message-dialog.js";
import { openServiceDialog } from "./service-dialog.js";

async function loadStop(desk, stopId, key) {
  const d = ui.detail;
  d.loading = true;
  const res = await send(desk, "GET", `/stops/${encodeURIComponent(stopId)}/detail`);
  if (d.key !== key) return; // another selection since
  d.loading = false;
  d.data = res.ok ? res.data : null;
  d.error = res.ok ? "" : res.sentence;
  desk.rerender();
}

/** Load (again) the selected courier's trail and messages; the trail is drawn on the map. */
export async function loadCourier(desk, courierId) {
  const c = ui.courier;
  const { date } = hubAndDate(desk);
  c.loading = true;
  const q = `?date=${encodeURIComponent(date)}`;
  const id = encodeURIComponent(courierId);
  const [trail, msgs] = await Promise.all([
    send(desk, "GET", `/couriers/${id}/trail${q}`), send(desk, "GET", `/couriers/${id}/messages${q}`),
  ]);
  if (c.id !== courierId) return;
  c.loading = false;
  c.trail = trail.ok ? trail.data : null;
  c.messages = msgs.ok && Array.isArray(msgs.data) ? msgs.data : c.messages;
  c.error = trail.ok ? (msgs.ok ? "" : msgs.sentence) : trail.sentence;
  if (c.trail) desk.map.showTrail(courierId, c.trail.points || []);
  desk.rerender();
}

/** Start loading what the selection needs; a no-op while it is loaded and unchanged. */
function follow(desk, state) {
  const sel = state.selection;
  const stop = sel?.kind === "stop" ? state.stops?.get?.(sel.id) : null;
  const key = sel ? `${sel.kind}:${sel.id}` : "";
  const d = ui.detail;
  if (sel?.kind === "stop" && (d.key !== key || d.sig !== stopSignature(stop))) {
    if (d.key !== key) Object.assign(d, { data: null, error: "" });
    d.key = key;
    d.sig = stopSignature(stop);
    queueMicrotask(() => loadStop(desk, sel.id, key));
  } else if (sel?.kind !== "stop") {
    d.key = "";
  }
  const c = ui.courier;
  if (sel?.kind === "courier" && c.id !== sel.id) {
    Object.assign(c, { id: sel.id, trail: null, messages: [], error: "" });
    desk.map.clearTrail();
    queueMicrotask(() => loadCourier(desk, sel.id));
  } else if (sel?.kind !== "courier" && c.id !== null) {
    c.id = null;
    desk.map.clearTrail();
  }
}

export function detailsPanel(desk) {
  const state = desk.store.getState();
  follow(desk, state);
  const sel = state.selection;
  const t = desk.t;
  let body;
  if (!sel) body = html`<p class="panel-hint">${t("panel.det.none")}</p>`;
  else if (sel.kind === "stop") body = stopDetails(desk, state, sel.id);
  else body = courierDetails(desk, state, sel.id);
  return html`<section class="panel panel-details" aria-labelledby="panel-details-h" data-panel="details">
    <div class="panel-head"><h2 id="panel-details-h">${t("panel.det.title")}</h2>
      ${sel ? html`<button type="button" class="panel-btn" @click=${() => desk.store.select(null)}
        aria-label=${t("panel.det.closeLabel")}>${t("panel.close")}</button>` : nothing}</div>
    ${body}</section>`;
}

function stopDetails(desk, state, stopId) {
  const t = desk.t;
  const lang = desk.lang;
  const d = ui.detail;
  const stop = state.stops?.get?.(stopId) || state.unplanned?.find((u) => u.stopId === stopId) || d.data?.stop || null;
  const data = d.data;
  const names = namer(state);
  const courierId = stop?.courierId ?? data?.stop?.courierId;
  const status = stop?.state || stop?.status || data?.stop?.status;
  const order = data?.order;
  return html`<div class="panel-body" data-stop=${String(stopId)}>
    <h3>${stop?.reference || order?.reference || `#${stopId}`}
      ${status ? html`<span class="panel-badge state-${status}">${translated(t, `panel.state.${status}`, status)}</span>` : nothing}</h3>
    <dl class="panel-facts">
      ${fact(t("panel.det.address"), stop?.address || order?.address)}
      ${fact(t("panel.det.window"), `${clock(stop?.windowStart ?? order?.windowStart, lang)}–${clock(stop?.windowEnd ?? order?.windowEnd, lang)}`)}
      ${fact(t("panel.det.eta"), clock(stop?.eta ?? data?.stop?.eta, lang))}
      ${fact(t("panel.courier"), courierId != null ? names.courier(courierId) : t("panel.det.unassigned"))}
      ${order ? fact(t("panel.det.customer"), order.customerName) : nothing}
      ${order ? fact(t("panel.det.orderStatus"), translated(t, `panel.state.${order.status}`, order.status)) : nothing}
    </dl>
    ${stop?.lat != null ? html`<button type="button" class="panel-btn" @click=${() => desk.map.focus(stop.lat, stop.lon)}>
      ${t("panel.det.showOnMap")}</button>` : nothing}
    ${d.error ? html`<p class="panel-error" role="alert">${d.error}</p>` : nothing}
    ${!data && !d.error ? html`<p class="panel-hint" aria-live="polite">${t("panel.loading")}</p>` : nothing}
    ${data ? stopData(t, lang, data) : nothing}
  </div>`;
}

function stopData(t, lang, data) {
  const parcels = data.parcels || [];
  const rows = historyRows(data.history, { t, lang });
  const proof = data.proof;
  return html`
    <h4>${t("panel.det.parcels", { n: parcels.length })}</h4>
    ${parcels.length ? html`<table class="panel-table"><thead><tr><th scope="col">${t("panel.det.barcode")}</th>
      <th scope="col">kg</th><th scope="col">l</th><th scope="col">${t("panel.det.status")}</th></tr></thead>
      <tbody>${parcels.map((p) => html`<tr><td>${p.barcode || `#${p.id}`}</td><td>${num(p.weightKg, lang)}</td>
        <td>${num(p.volumeL, lang)}</td><td>${translated(t, `panel.parcel.${p.status}`, p.status)}</td></tr>`)}</tbody>
      </table>` : nothing}
    <h4>${t("panel.det.history")}</h4>
    ${rows.length ? html`<ol class="panel-history">${rows.map((r) => html`<li><time>${r.at}</time>
      <strong>${r.state}</strong> <span>${t("panel.det.by", { who: r.by })}</span>${r.detail ? html`<div class="panel-hint">${r.detail}</div>` : nothing}
      </li>`)}</ol>` : html`<p class="panel-hint">${t("panel.det.noHistory")}</p>`}
    ${proof ? html`<h4>${t("panel.det.proof")}</h4><div class="panel-proof">
      <p>${t("panel.det.proofBy", { name: proof.name || "–", at: clock(proof.at, lang) })}</p>
      ${proof.photoUrl ? html`<img src=${proof.photoUrl} alt=${t("panel.det.photoAlt")} loading="lazy">` : nothing}
      ${signature(t, proof.signature)}</div>` : nothing}`;
}

function signature(t, sig) {
  if (!sig) return nothing;
  const s = String(sig);
  if (s.startsWith("/") || s.startsWith("data:image/")) return html`<img class="panel-signature" src=${s} alt=${t("panel.det.signatureAlt")}>`;
  return html`<p>${t("panel.det.signature")}: ${s}</p>`;
}

function courierDetails(desk, state, courierId) {
  const t = desk.t;
  const lang = desk.lang;
  const courier = state.couriers?.get?.(courierId);
  const c = ui.courier;
  const v = trailView(c.trail, { t, lang });
  const route = state.routes?.get?.(courierId);
  const stops = route?.stops || [];
  const done = stops.filter((s) => ["delivered", "failed", "collected"].includes(s.status)).length;
  const pos = state.positions?.get?.(courierId);
  const messages = mergeMessages(c.messages, (state.messages || []).filter((m) => m.courierId === courierId));
  const { date } = hubAndDate(desk);
  const reload = () => loadCourier(desk, courierId);
  return html`<div class="panel-body" data-courier=${String(courierId)}>
    <h3><svg class="panel-swatch" viewBox="0 0 10 10" aria-hidden="true"><circle cx="5" cy="5" r="5"
      fill=${courier?.colour || "#4d5753"}></circle></svg> ${courier?.name || `#${courierId}`}</h3>
    <dl class="panel-facts">
      ${fact(t("panel.det.bike"), courier?.bikeName)}
      ${fact(t("panel.det.shift"), courier ? shiftText(t, lang, courier) : "")}
      ${fact(t("panel.det.stops"), stops.length ? `${done} / ${stops.length}` : "0")}
      ${fact(t("panel.det.speed"), v?.speed ?? "–")}
      ${fact(t("panel.det.lastPosition"), v?.age ?? "–")}
      ${fact(t("panel.det.ridden"), v?.ridden ?? "–")}
      ${fact(t("panel.det.rangeLeft"), v ? `${v.rangeLeft} / ${v.range}` : "–", v?.low ? "panel-warn" : "")}
      ${v?.battery ? fact(t("panel.det.batteryReported"), v.battery) : nothing}
    </dl>
    ${c.error ? html`<p class="panel-error" role="alert">${c.error}</p>` : nothing}
    ${c.loading && !c.trail ? html`<p class="panel-hint" aria-live="polite">${t("panel.loading")}</p>` : nothing}
    <div class="panel-row">
      <button type="button" class="panel-btn" aria-haspopup="dialog"
        @click=${() => openMessageDialog(desk, { courierId, onSent: reload })}>${t("panel.message")}</button>
      <button type="button" class="panel-btn" aria-haspopup="dialog"
        @click=${() => openServiceDialog(desk, { courierId, onDone: reload })}>${t("panel.outOfService")}</button>
      ${pos ? html`<button type="button" class="panel-btn" @click=${() => desk.map.focus(pos.lat, pos.lon)}>
        ${t("panel.det.showOnMap")}</button>` : nothing}
      <a class="panel-btn" href=${gpxUrl(courierId, date)} download>${t("panel.fig.gpx")}</a>
    </div>
    <h4>${t("panel.det.messages", { n: messages.length })}</h4>
    ${messages.length ? html`<ol class="panel-history">${messages.map((m) => html`<li><time>${clock(m.sentAt, lang)}</time>
      <span>${m.sentBy?.name || ""}</span><div class="panel-message">${m.text}</div></li>`)}</ol>`
      : html`<p class="panel-hint">${t("panel.det.noMessages")}</p>`}
  </div>`;
}

function shiftText(t, lang, c) {
  const hours = `${clock(c.shiftStart, lang)}–${clock(c.shiftEnd, lang)}`;
  return c.shiftStatus ? `${hours} · ${translated(t, `panel.shift.${c.shiftStatus}`, c.shiftStatus)}` : hours;
}

const fact = (label, value, cls = "") => html`<div class=${cls}><dt>${label}</dt><dd>${value || "–"}</dd></div>`;
