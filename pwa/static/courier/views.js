// The courier app's screens as templates (lit-html escapes every value).
import { html, render, nothing } from "../kit/html.js";
import { langSwitch } from "../kit/lang-switch.js";
import { state, $, t, i18n } from "./store.js";
import { windowText as windowOf, geoLink, isOpen, reasonText, statusText } from "./util.js";
import { summaryFigures } from "./dialog.js";
import { bannerTitle } from "./inbox.js";
import { wake } from "./devices.js";
import { reloadAhead, toLoadFor, byLoop } from "./loops.js";
import { lockerDoors } from "./locker.js";

/** A server wall-clock time in the locale's clock. */
const hhmm = (ts) => (ts ? i18n.clock(ts) : "–");
const windowText = (s) => windowOf(s, t, i18n.clock);

export function connState() {
  if (!navigator.onLine) return "offline";
  if (state.wsState === "open") return "online";
  if (!state.user) return "offline";
  return "reconnecting";
}

export function renderTop() {
  $("#who").textContent = state.day?.courier?.name || state.user?.displayName || "Laadbak";
  const n = state.pending.length;
  const pill = $("#pending");
  pill.hidden = n === 0;
  pill.textContent = t("pending.pill", { n });
  pill.title = n ? t("pending.title") : "";
  const s = connState();
  const el = $("#conn");
  el.className = `pill conn ${s}`;
  el.textContent = t(`conn.${s}`);
  el.dataset.state = s;
  document.body.dataset.conn = s;
}

export function renderMessages() {
  render(state.messages.map((m) => html`
    <div class="msg ${m.kind}" role=${m.kind === "error" ? "alert" : "status"}>
      <span>${m.text}</span>
      <button type="button" class="msg-close" data-dismiss=${m.id} aria-label=${t("msg.dismiss")}>×</button>
    </div>`), $("#messages"));
  // Messages from dispatch: at the top, until dismissed; their text is a value, so lit-html shows it as text.
  render(state.inbox.map((m) => html`
    <div class="msg dispatch" role="alert" data-dispatch-message=${m.id}>
      <div class="dispatch-body">
        <strong class="dispatch-title">${bannerTitle(m, t, hhmm)}</strong>
        <p class="dispatch-text">${m.text}</p>
      </div>
      <button type="button" class="msg-close" data-dismiss-message=${m.id} aria-label=${t("dispatch.dismiss")}>×</button>
    </div>`), $("#inbox"));
}

const parcelsText = (stop) => t("route.parcels", { n: (stop.parcels || []).length });

export function whoText(stop) {
  if (stop.returnCode) return t("route.returnFrom", { name: stop.customerName || stop.address, code: stop.returnCode });
  if (stop.kind === "pickup" && stop.compartments?.length) return t("locker.pickupAt");
  if (stop.kind === "pickup") return t("route.pickupAt", { shop: stop.shopName || t("route.shop") });
  return stop.customerName || "";
}

function stopChips(stop, { showPlanned = true } = {}) {
  return html`${stop.status === "planned" && !showPlanned ? nothing
    : html`<span class="chip st-${stop.status}">${statusText(stop.status, t)}</span>`}${
    stop.late && isOpen(stop) ? html`<span class="chip late">${t("chip.late")}</span>` : nothing}${
    stop._pending ? html`<span class="chip pending">${t("chip.notSent")}</span>` : nothing}`;
}

// A done stop shows when it was done (actual), an open one its expected arrival.
const doneAt = (s) => (!isOpen(s) && s.completedAt ? s.completedAt : null);

const times = (s) => html`<div class="times">
  <div><span>${doneAt(s) ? t("route.doneAt") : t("route.eta")}</span><strong>${hhmm(doneAt(s) || s.eta)}</strong></div>
  <div><span>${t("route.window")}</span><strong>${windowText(s)}</strong></div></div>`;

export function routeScreen(v) {
  if (!v) return html`<div class="card empty">${state.dayProblem || t("route.loadingDay")}</div>`;
  const stops = v.route?.stops || [];
  const next = stops.find(isOpen);
  const done = stops.filter((s) => !isOpen(s)).length;
  const hub = v.hub?.name || t("route.theHub");
  const started = v.shift?.status === "started";
  const rows = stops.map((s, i) => [s, i]);
  const open = rows.filter(([s]) => isOpen(s));
  const closed = rows.filter(([s]) => !isOpen(s));
  // before the shift: the first loop's parcels (later loops are loaded when the bike is back)
  const toLoad = toLoadFor(v.loading, 1);
  // back to the hub first: until the next loop's parcels are loaded, then its first stop
  const ahead = started ? reloadAhead(v.route, v.loading) : null;
  const reload = ahead && ahead.items.some((l) => !l.loaded) ? ahead : null;
  return html`
    ${v.shift?.status === "planned" ? html`
      <div class="card shift-card">
        <p><strong>${t("route.shift", { start: hhmm(v.shift.start), end: hhmm(v.shift.end) })}</strong> ${t("route.at", { hub })}</p>
        <p class="sub">${toLoad ? t("route.toLoad", { n: toLoad }) : t("route.loaded")} ${t("route.startHint")}</p>
        <div class="row">
          ${toLoad ? html`<a class="btn big" href="#/load">${t("route.loadBike")}</a>` : nothing}
          <button class="btn big primary" type="button" data-action="shift-start">${t("shift.start")}</button>
        </div>
      </div>` : nothing}
    ${!v.shift && !v.route ? html`<div class="card empty">${t("route.noShift")}</div>`
      : !v.route ? html`<div class="card empty">${t("route.noRoute")}</div>`
      : reload ? reloadCard(reload, hub)
      : next ? nextStopCard(next, stops.indexOf(next), stops.length)
      : stops.length ? html`
        <div class="card all-done">
          <h2>${t("route.allDone", { n: stops.length })}</h2>
          <p>${started ? t("route.rideBackEnd", { hub }) : t("route.rideBack", { hub })}</p>
          ${started ? html`<button class="btn big primary" type="button" data-action="shift-end">${t("shift.end")}</button>` : nothing}
        </div>` : nothing}
    ${stops.length ? html`
      <h2 class="list-title">${t("route.stops")} <span>${t("route.doneOf", { done, total: stops.length })}</span></h2>
      <ol class="list stops" id="stop-list">${open.map(([s, i]) => stopRow(s, i, s === next))}
        ${closed.length ? html`<li class="list-sep" aria-hidden="true">${t("route.doneSep")}</li>` : nothing}
        ${closed.map(([s, i]) => stopRow(s, i, false))}</ol>` : nothing}
    ${started && next ? html`<div class="bottom-actions">
      <button class="btn big ghost" type="button" data-action="shift-end">${t("shift.end")}</button></div>` : nothing}`;
}

/** The next thing is riding back to the hub: load the next loop (its parcels, in load order). */
function reloadCard(r, hub) {
  const left = r.items.filter((l) => !l.loaded).length;
  return html`
    <article class="card next-stop reload" id="reload-card" data-loop=${r.loop}>
      <h2>${t("route.reloadTitle", { n: r.loop })}</h2>
      ${r.reload ? html`<p class="sub">${t("route.reloadWhen", {
        hub, arrival: hhmm(r.reload.arrival), departure: hhmm(r.reload.departure), count: r.items.length, n: r.loop })}</p>` : nothing}
      <ol class="list reload-items">${r.items.map((l) => html`
        <li class="load-item${l.loaded ? " loaded" : ""}" data-barcode=${l.barcode}>
          <span class="num">${l.loadOrder}</span><span class="main"><span class="barcode">${l.barcode}</span></span>
          <span class="tick" role="img" aria-label=${l.loaded ? t("load.loaded") : t("load.notLoaded")}>${l.loaded ? "✓" : ""}</span>
        </li>`)}</ol>
      ${left ? html`<div class="row"><a class="btn big primary" href="#/load">${t("route.reloadLoad", { n: r.loop })}</a></div>` : nothing}
    </article>`;
}

function nextStopCard(s, i, total) {
  return html`
    <article class="card next-stop${s.late ? " is-late" : ""}" id="next-stop" data-stop=${s.stopId}>
      <div class="next-label"><span>${t("route.nextStop", { n: i + 1, total })}${s.status === "arrived" ? t("route.arrivedFlag") : ""}</span>
        ${s.late ? html`<span class="late-flag">${t("route.late")}</span>` : nothing}</div>
      <div class="next-head">
        <span class="num big">${i + 1}</span>
        <div>
          <h2 class="next-address">${s.address}</h2>
          <p class="sub">${whoText(s)} · ${parcelsText(s)}</p>
        </div>
      </div>
      ${times(s)}
      ${lockerDoors(s, t)}
      <div class="row">
        <a class="btn big nav" href=${geoLink(s.lat, s.lon, s.address)}>${t("route.navigate")}</a>
        <a class="btn big primary" href="#/stop/${s.stopId}">${t("route.openStop")}</a>
      </div>
    </article>`;
}

function stopRow(s, i, isNext) {
  return html`
    <li class="stop st-${s.status}${isNext ? " is-next" : ""}${s.late && isOpen(s) ? " is-late" : ""}" data-stop=${s.stopId}>
      <a href="#/stop/${s.stopId}">
        <span class="num">${i + 1}</span>
        <span class="main">
          <span class="addr">${s.address}</span>
          <span class="sub">${whoText(s)} · ${parcelsText(s)}</span>
          <span class="chips">${stopChips(s, { showPlanned: false })}</span>
        </span>
        <span class="when"><strong>${hhmm(doneAt(s) || s.eta)}</strong><small>${windowText(s)}</small></span>
      </a>
    </li>`;
}

export function renderLoad(v) {
  // per loop; the loop to load now (the first with parcels not loaded) first
  const loops = byLoop(v?.loading);
  const now = loops.find((g) => g.items.some((l) => !l.loaded))?.loop;
  const list = now === undefined ? loops.flatMap((g) => g.items) : loops.find((g) => g.loop === now).items;
  const loaded = list.filter((l) => l.loaded).length;
  render(list.length ? t("load.progress", { loaded, total: list.length }) : t("load.nothing"), $("#load-progress"));
  const stops = v?.route?.stops || [];
  const nextToLoad = list.find((l) => !l.loaded);
  const several = loops.length > 1;
  render(loops.filter((g) => now === undefined || g.loop >= now).map((g) => html`${several ? html`
    <li class="list-sep" data-loop=${g.loop}>${g.loop === now ? t("load.loopNow", { n: g.loop }) : t("load.loop", { n: g.loop })}</li>` : nothing}${
    g.items.map((l) => loadItem(l, stops, l === nextToLoad))}`), $("#load-list"));
  const f = state.loadFeedback;
  const el = $("#load-feedback");
  el.className = `feedback${f ? ` ${f.kind}` : ""}`;
  el.textContent = f ? f.text : "";
}

function loadItem(l, stops, isNext) {
  const i = stops.findIndex((s) => s.stopId === l.stopId);
  const stop = stops[i];
  return html`
    <li class="load-item${l.loaded ? " loaded" : ""}${isNext ? " is-next" : ""}" data-barcode=${l.barcode} data-loop=${l.loop || 1}>
      <span class="num">${l.loadOrder}</span>
      <span class="main">
        <span class="barcode">${l.barcode}</span>
        <span class="sub">${stop ? t("load.stop", { n: i + 1, address: stop.address }) : t("load.stopId", { id: l.stopId })}</span>
      </span>
      <span class="tick" role="img" aria-label=${l.loaded ? t("load.loaded") : t("load.notLoaded")}>${l.loaded ? "✓" : ""}${
        l._pending ? html`<small>${t("load.notSent")}</small>` : nothing}</span>
    </li>`;
}

export function stopScreen(v, stopId) {
  const stops = v?.route?.stops || [];
  const i = stops.findIndex((s) => s.stopId === stopId);
  if (i < 0) {
    return html`<div class="screen-head"><a class="back" href="#/route">${t("stop.back")}</a></div>
      <div class="card empty">${t("stop.gone")}</div>`;
  }
  const s = stops[i];
  const open = isOpen(s);
  const pickup = s.kind === "pickup";
  return html`
    <div class="screen-head"><a class="back" href="#/route">${t("stop.back")}</a></div>
    <article class="card stop-detail${s.late && open ? " is-late" : ""}" id="stop-detail" data-status=${s.status}>
      <div class="next-head">
        <span class="num big">${i + 1}</span>
        <div>
          <h1>${s.address}</h1>
          <p class="sub">${whoText(s)}${pickup ? "" : ` · ${s.customerName ? t("stop.delivery") : ""}`}</p>
        </div>
      </div>
      <div class="chips">${stopChips(s)}</div>
      ${times(s)}
      ${s.failReason ? html`<p class="fail-reason">${t("stop.failed", { reason: reasonText(s.failReason, t) })}</p>` : nothing}
      ${lockerDoors(s, t)}
      <h2 class="list-title">${parcelsText(s)}</h2>
      <ul class="parcels">${(s.parcels || []).map((p) => html`
        <li><span class="barcode">${p.barcode}</span><span class="chip">${t(`parcel.${p.status}`).startsWith("parcel.") ? p.status : t(`parcel.${p.status}`)}</span></li>`)}
      </ul>
    </article>
    <div class="action-bar">
      <a class="btn big nav" href=${geoLink(s.lat, s.lon, s.address)}>${t("route.navigate")}</a>
      ${s.status === "planned" ? html`<button class="btn big" type="button" data-action="arrive" data-stop=${s.stopId}>${t("stop.arrived")}</button>` : nothing}
      ${open && !pickup ? html`<a class="btn big primary" href="#/stop/${s.stopId}/deliver">${t("stop.deliver")}</a>` : nothing}
      ${open && pickup ? html`<a class="btn big primary" href="#/stop/${s.stopId}/collect">${t("stop.collect")}</a>` : nothing}
      ${open ? html`<a class="btn big danger" href="#/stop/${s.stopId}/fail">${t("stop.fail")}</a>` : nothing}
    </div>`;
}

export function shiftScreen(v) {
  const shift = v?.shift;
  const stops = v?.route?.stops || [];
  const count = (st) => stops.filter((s) => s.status === st).length;
  const fig = (n, key) => html`<div><strong>${n}</strong><span>${t(key)}</span></div>`;
  const sum = state.lastSummary?.summary;
  const n = state.pending.length;
  const position = state.position ? `±${i18n.number(Math.round(state.position.accuracy || 0))} m`
    
    : state.positionError ? t(`gps.${state.positionError}`) : (shift?.status === "started" ? t("shift.gpsWaiting") : t("shift.gpsShift"));
  const screen = wake.held ? t("shift.screen.yes") : wake.supported ? t("shift.screen.shift") : t("shift.screen.no");
  return html`
    <div class="screen-head"><h1>${t("shift.title")}</h1></div>
    <div class="card">
      <p><strong>${v?.courier?.name || state.user?.displayName || ""}</strong> · ${v?.hub?.name || ""}</p>
      ${shift ? html`
        <p>${t("shift.planned", { start: hhmm(shift.start), end: hhmm(shift.end) })}</p>
        <p>${t("shift.status")} <span class="chip shift-${shift.status}">${t(`shift.state.${shift.status}`)}</span>${
          shift._pending ? html` <span class="chip pending">${t("chip.notSent")}</span>` : nothing}</p>
        ${shift.startedAt ? html`<p>${t("shift.started", { time: hhmm(shift.startedAt) })}${
          shift.endedAt ? t("shift.ended", { time: hhmm(shift.endedAt) }) : ""}</p>` : nothing}
        <div class="row">
          ${shift.status === "planned" ? html`<button class="btn big primary" type="button" data-action="shift-start">${t("shift.start")}</button>` : nothing}
          ${shift.status === "started" ? html`<button class="btn big danger" type="button" data-action="shift-end">${t("shift.end")}</button>` : nothing}
        </div>` : html`<p>${t("shift.none")}</p>`}
    </div>
    <div class="card figures">
      ${fig(count("delivered"), "shift.delivered")}${fig(count("failed"), "shift.failed")}
      ${fig(count("collected"), "shift.collected")}${fig(stops.filter(isOpen).length, "shift.todo")}
    </div>
    ${sum ? html`<div class="card"><h2>${t("shift.summary")}</h2>${summaryFigures(sum)}</div>` : nothing}
    <div class="card">
      <h2>${t("shift.sync")}</h2>
      <p>${t("shift.connection")} <strong>${t(`conn.${connState()}`)}</strong></p>
      <p>${n ? t("shift.waiting", { n }) : t("shift.allSent")}</p>
      ${n ? html`<ol class="pending-list">${state.pending.map((p) => html`<li>${p.label}</li>`)}</ol>
        <button class="btn" type="button" data-action="replay">${t("shift.sendNow")}</button>` : nothing}
      <p class="sub">${t("shift.position", { value: position })} · ${t("shift.screenOn", { value: screen })}</p>
    </div>
    ${batteryCard()}
    <div class="card push-card"><h2>${t("push.title")}</h2>
      <p>${t(`push.${state.push || "unsupported"}`)}</p>
      ${state.push === "ask" || state.push === "asking" ? html`<button class="btn" type="button" data-action="push-on"
        ?disabled=${state.push === "asking"}>${t("push.turnOn")}</button>` : nothing}</div>
    <div class="card"><h2>${t("shift.language")}</h2>${langSwitch(i18n)}</div>
    <div class="bottom-actions"><button class="btn big ghost" type="button" data-action="logout">${t("shift.logout")}</button></div>`;
}

/** The levels a courier can report, in 10 % steps (big buttons). */
export const BATTERY_LEVELS = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];

function batteryCard() {
  const b = state.battery;
  const last = b ? (b.charged ? t("battery.lastCharged", { time: hhmm(b.reportedAt) })
    : t("battery.last", { pct: i18n.number(b.levelPct), time: hhmm(b.reportedAt) })) : t("battery.hint");
  return html`<section class="card battery-card" aria-labelledby="battery-title">
    <h2 id="battery-title">${t("battery.title")}</h2>
    <p id="battery-last">${last}${b?.rangeLeftKm != null ? ` ${t("battery.range", { km: i18n.number(Math.round(b.rangeLeftKm)) })}` : ""}</p>
    <div class="battery-levels" role="group" aria-label=${t("battery.choose")}>
      ${BATTERY_LEVELS.map((pct) => html`<button class="btn" type="button" data-action="battery" data-level=${pct}
        aria-label=${t("battery.level", { pct: i18n.number(pct) })}>${i18n.number(pct)} %</button>`)}
    </div>
    <button class="btn big primary" type="button" data-action="battery-charged">${t("battery.charged")}</button>
  </section>`;
}
