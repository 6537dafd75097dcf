// Laadbak pickup-point app (/point/): the operator of one pickup point logs in on a phone or
// the shop's tablet. Today: what is announced (today, tomorrow), on the shelves, handed out,
// the room left. Scan in: the courier's parcels with a wedge scanner or the camera; scans wait
// in an offline queue (IndexedDB, one Idempotency-Key each) until the server answers. Hand
// out: the customer's QR code, or the parcel label and the typed code, with the ID check
// ticked. Returns: a customer's return (its R-code scanned or typed) accepted into the point's
// cart for the courier. To return: parcels past their holding time, given to the courier.
// Plain ES modules on the shared kit, no build step. API: docs/api.md "Pickup point".
//
// Live updates are a short poll (POLL_MS) rather than the kit's stream: the feed's streams are
// a courier's or a hub's (dispatchers), a point has none, and what changes a point's screen is
// mostly its own scans; the courier's announced parcels move slowly.
import { html, render } from "../kit/html.js";
import { request, problemSentence } from "../kit/api.js";
import { createI18n, translateDom } from "../kit/i18n.js";
import { langSwitch } from "../kit/lang-switch.js";
import { roleIn, submitLogin, showLoginError, whoIsIn, logoutRequest } from "../kit/session.js";
import { openQueue, newAction, replayOutcome, uuid } from "../kit/queue.js";
import { createScanner, loadScannerOptions, cameraScanSupported, scanWithCamera } from "../kit/scanner.js";
import { signal } from "../kit/feedback.js";
import kitEn from "../kit/messages/en.js";
import kitNl from "../kit/messages/nl.js";
import en from "./messages/en.js";
import nl from "./messages/nl.js";
import { TABS, parseQr, cleanCode, summary, scanOutcome } from "./model.js";
import { announcedList } from "./announced.js";
import { returnsTab } from "./returns.js";

const i18n = createI18n({ en: { ...kitEn, ...en }, nl: { ...kitNl, ...nl } });
const t = i18n.t;
const $ = (sel) => document.querySelector(sel);
const isPoint = roleIn("point", "admin");
const queue = openQueue("laadbak-point");
const POLL_MS = 30_000;
const SCANS_SHOWN = 12;

const state = {
  user: null,
  tab: "today",
  day: null, // GET /point/today
  scans: [], // the latest scans, newest first: {barcode, kind: ok | error | kept, text}
  pending: 0, // scans in the offline queue
  hand: { barcode: "", code: "", idChecked: false, idNote: "" },
  ret: null, // the return shown on the Returns tab (GET /point/returns/{code})
  camera: null, // an AbortController while the camera reads
  alert: "",
  note: "",
  answered: 0, // actions done (answered or not), for the browser test to wait on
};

const sentence = (res) => problemSentence(res, t, i18n.lang);

function done() {
  state.answered += 1;
  document.body.dataset.answered = String(state.answered);
}

function say(kind, text) {
  if (kind === "ok") { state.alert = ""; state.note = text; } else { state.alert = text; state.note = ""; }
  signal(kind === "ok" ? "ok" : "error");
}

// --- screens -------------------------------------------------------------------------------

function draw() {
  render(langSwitch(i18n, { short: true }), $("#top-lang"));
  $("#who").textContent = state.user ? state.user.displayName || state.user.username : "";
  $("#logout").hidden = !state.user;
  $("#alert").textContent = state.alert;
  $("#status").textContent = state.note;
  if (!state.user) return;
  const s = summary(state.day);
  const counts = { scanIn: s?.announcedToday, handOut: s?.inPoint, returns: s?.returnsCart, toReturn: s?.toReturn };
  render(html`<div role="group" aria-label=${t("tabs.label")} class="tabs-group">${TABS.map((tab) => html`
    <button class="btn" type="button" data-tab=${tab} aria-current=${tab === state.tab ? "page" : "false"}
      @click=${() => showTab(tab)}>${t(`tab.${tab}`)}${counts[tab] ? html`<span class="count">${counts[tab]}</span>` : ""}</button>`)}
    </div>`, $("#tabs"));
  const views = { today: todayView, scanIn: scanInView, handOut: handOutView, returns: returns.view, toReturn: toReturnView };
  render(views[state.tab](s), $("#screen"));
  if (state.tab === "handOut") syncHandForm();
}

/** The hand-out form shows state.hand: set here, as lit-html leaves a property alone that
 *  the person changed when the value it last set has not changed. */
function syncHandForm() {
  $("#code").value = state.hand.code;
  $("#id-check").checked = state.hand.idChecked;
  $("#id-note").value = state.hand.idNote;
}

function todayView(s) {
  const day = state.day;
  if (!day) return html`<p class="empty">${t("today.loading")}</p>`;
  const [today, tomorrow] = day.announced;
  const courier = (a) => (a.courier ? t("today.courier", { eta: a.courier.eta }) : t("today.noCourier"));
  return html`
    <div class="screen-head">
      <h1>${t("today.title", { name: day.point.name })}</h1>
      <button class="btn" type="button" @click=${loadDay}>${t("today.refresh")}</button>
    </div>
    <p class="sub">${day.point.address} · ${t("today.hours", { hours: day.point.hours })}</p>
    ${s.locked.length ? html`<p class="warn" id="locked">${t("today.locked", { list: s.locked.join(", ") })}</p>` : ""}
    <div class="cards">
      <div class="card" id="announced-today"><h2>${t("today.announced")}</h2>
        <p class="figure">${t("today.parcels", { n: today.count })}</p>
        <p class="sub">${courier(today)}</p>
        <p class="sub">${t("today.size", { kg: i18n.number(today.weightKg), l: i18n.number(today.volumeL) })}</p></div>
      <div class="card" id="announced-tomorrow"><h2>${t("today.tomorrow")}</h2>
        <p class="figure">${t("today.parcels", { n: tomorrow.count })}</p>
        <p class="sub">${courier(tomorrow)}</p>
        <p class="sub">${t("today.size", { kg: i18n.number(tomorrow.weightKg), l: i18n.number(tomorrow.volumeL) })}</p></div>
      <div class="card" id="in-point"><h2>${t("today.inPoint")}</h2><p class="figure">${s.inPoint}</p></div>
      <div class="card" id="handed-out"><h2>${t("today.handedOut")}</h2><p class="figure">${s.handedOut}</p></div>
      <div class="card" id="room"><h2>${t("today.room")}</h2>
        <p class="figure">${t("today.roomOf", { room: s.roomToday, capacity: s.capacity })}</p>
        <p class="sub">${t("today.roomTomorrow", { room: s.roomTomorrow })}</p></div>
      <div class="card" id="to-return"><h2>${t("today.toReturn")}</h2><p class="figure">${s.toReturn}</p></div>
      <div class="card" id="returns-cart"><h2>${t("today.returnsCart")}</h2><p class="figure">${s.returnsCart}</p></div>
    </div>
    ${announcedList(day, t)}`;
}

const scanField = () => html`
  <!-- The scanner types here: inputmode="none" opens no on-screen keyboard; the field keeps focus. -->
  <input id="scan" class="scan-input" data-scan-field inputmode="none" autocomplete="off" autocapitalize="characters"
    spellcheck="false" aria-label=${t("scan.label")}>
  ${cameraScanSupported() ? html`<button class="btn big" type="button" id="camera" @click=${toggleCamera}>
    ${t(state.camera ? "scan.cameraStop" : "scan.camera")}</button>${state.camera ? html`<video id="video" muted playsinline></video>` : ""}` : ""}`;

function scanInView() {
  return html`
    <h1>${t("scan.title")}</h1>
    <p class="sub">${t("scan.hint")}</p>
    ${scanField()}
    ${state.pending ? html`<p class="warn" id="pending">${t("scan.pending", { n: state.pending })}</p>` : ""}
    ${state.scans.length === 0 ? html`<p class="empty">${t("scan.none")}</p>` : html`
      <ul class="scans" id="scans">${state.scans.map((s) => html`<li class=${s.kind}>${s.text}</li>`)}</ul>`}`;
}

function handOutView() {
  const h = state.hand;
  const set = (field) => (ev) => { state.hand[field] = ev.target.type === "checkbox" ? ev.target.checked : ev.target.value; };
  return html`
    <h1>${t("hand.title")}</h1>
    <p class="sub">${t("hand.hint")}</p>
    ${scanField()}
    <form class="card" id="hand-form" @submit=${(ev) => { ev.preventDefault(); handOut(); }}>
      <p><strong>${t("hand.parcel")}:</strong>
        ${h.barcode ? html`<span class="big-code" id="hand-barcode">${h.barcode}</span>` : html`<span class="sub">${t("hand.parcelNone")}</span>`}</p>
      <label><span>${t("hand.code")}</span>
        <input id="code" class="code-input" inputmode="numeric" autocomplete="off" maxlength="12"
          @input=${set("code")}></label>
      <label class="tick"><input type="checkbox" id="id-check" @change=${set("idChecked")}>
        <span>${t("hand.id")}</span></label>
      <label><span>${t("hand.idNote")}</span>
        <input id="id-note" maxlength="200" @input=${set("idNote")}></label>
      <button class="btn primary big" type="submit" id="hand-out" ?disabled=${!h.barcode}>${t("hand.submit")}</button>
    </form>`;
}

const returns = returnsTab({ state, t, sentence, finish, loadDay: () => loadDay(), showLogin: (why) => showLogin(why), scanField });

function toReturnView() {
  const list = state.day?.toReturn ?? [];
  return html`
    <h1>${t("return.title")}</h1>
    <p class="sub">${t("return.hint", { days: state.day?.point.holdingDays ?? 7 })}</p>
    ${list.length === 0 ? html`<p class="empty">${t("return.none")}</p>` : html`
      <ul class="parcels" id="returns">${list.map((p) => html`<li>
        <p class="big-code">${p.barcode}</p><p class="sub">${p.customer} · ${t("return.since", { date: p.scannedInAt.slice(0, 10) })}</p>
        <button class="btn big" type="button" data-return=${p.barcode} @click=${() => sendBack(p.barcode)}>
          ${t("return.button", { barcode: p.barcode })}</button></li>`)}</ul>`}`;
}

function showTab(tab) {
  stopCamera();
  state.tab = tab;
  state.alert = "";
  draw();
  focusScan();
  if (tab === "today" || tab === "toReturn" || tab === "returns") loadDay();
}

function focusScan() {
  const field = $("#scan");
  if (field && document.activeElement !== field) field.focus({ preventScroll: true });
}

// --- the server ----------------------------------------------------------------------------

let dayAsked = 0; // loads of the day asked for; only the newest one's answer is shown
async function loadDay() {
  const mine = ++dayAsked;
  try {
    const res = await request("GET", "/point/today");
    if (mine !== dayAsked) return; // a later load (after an action) is newer than this answer
    if (res.status === 401) return showLogin(t("login.sessionEnded"));
    if (res.ok) state.day = res.data;
    else state.alert = sentence(res);
  } catch { /* offline: the last day shown stays */ }
  draw();
}

/** Scans go through the queue: stored with their key first, then sent in order. */
async function scanIn(barcode) {
  await queue.add(newAction("scanIn", { path: "/point/scan-in", body: { barcode } }, { uuid, now: () => Date.now() }));
  await flush();
}

let flushing = null;
function flush() {
  flushing ??= sendQueued().finally(() => { flushing = null; });
  return flushing;
}

async function sendQueued() {
  for (const item of await queue.all()) {
    const barcode = item.body.barcode;
    let res;
    try {
      res = await request("POST", item.path, { body: item.body, key: item.key });
    } catch {
      record(barcode, "kept", t("scan.kept", { barcode }));
      say("error", t("scan.kept", { barcode }));
      break; // offline: the rest waits in order
    }
    const what = replayOutcome(res.status);
    if (what === "login") { showLogin(t("login.sessionEnded")); break; }
    if (what === "retry") { record(barcode, "kept", t("scan.kept", { barcode })); break; }
    await queue.remove(item.n);
    const out = scanOutcome(res.status, res.data);
    if (out.kind === "ok") {
      record(barcode, "ok", t(out.key, { barcode }));
      say("ok", t(out.key, { barcode }));
    } else {
      record(barcode, "error", `${barcode}: ${sentence(res)}`);
      say("error", `${barcode}: ${sentence(res)}`);
    }
  }
  state.pending = (await queue.all()).length;
  await loadDay();
}

/** The scan's line: one per barcode, the newest answer. */
function record(barcode, kind, text) {
  state.scans = [{ barcode, kind, text }, ...state.scans.filter((s) => s.barcode !== barcode)].slice(0, SCANS_SHOWN);
}

async function handOut() {
  const h = state.hand;
  const code = cleanCode(h.code);
  if (!h.idChecked) return finish("error", t("hand.needId"));
  if (!code) return finish("error", t("hand.needCode"));
  let res;
  try {
    res = await request("POST", "/point/hand-out", {
      body: { barcode: h.barcode, code, idChecked: true, idNote: h.idNote.trim() },
      key: uuid(),
    });
  } catch {
    return finish("error", t("hand.offline"));
  }
  if (res.status === 401) return showLogin(t("login.sessionEnded"));
  if (res.ok) {
    state.hand = { barcode: "", code: "", idChecked: false, idNote: "" };
    finish("ok", t("hand.done", { barcode: res.data.barcode }));
    await loadDay();
    return undefined;
  }
  h.code = "";
  finish("error", sentence(res));
  if (res.status === 429) await loadDay(); // the lock shows on Today
  return undefined;
}

function finish(kind, text) {
  say(kind, text);
  draw();
  focusScan();
  done();
}

async function sendBack(barcode) {
  try {
    const res = await request("POST", "/point/send-back", { body: { barcode }, key: uuid() });
    if (res.status === 401) return showLogin(t("login.sessionEnded"));
    say(res.ok ? "ok" : "error", res.ok ? t("return.done", { barcode }) : sentence(res));
  } catch {
    say("error", t("net.offline"));
  }
  await loadDay();
  done();
  return undefined;
}

function onScan(code) {
  if (!state.user) return;
  if (state.tab === "scanIn") {
    scanIn(code).finally(done);
    return;
  }
  if (state.tab === "returns") {
    returns.show(code);
    return;
  }
  if (state.tab !== "handOut") return;
  const qr = parseQr(code);
  state.hand = { ...state.hand, barcode: qr ? qr.barcode : code, code: qr ? qr.code : "" };
  if (qr && state.hand.idChecked) {
    handOut();
    return;
  }
  state.alert = "";
  draw();
  if (!qr) $("#code")?.focus();
  done();
}

// --- the camera ----------------------------------------------------------------------------

function stopCamera() {
  state.camera?.abort();
  state.camera = null;
}

async function toggleCamera() {
  if (state.camera) { stopCamera(); draw(); return; }
  state.camera = new AbortController();
  const { signal: aborted } = state.camera;
  draw();
  try {
    const code = await scanWithCamera($("#video"), { signal: aborted });
    state.camera = null;
    draw();
    if (code) onScan(code);
  } catch {
    state.camera = null;
    draw();
  }
}

// --- logging in ----------------------------------------------------------------------------

function showLogin(reason = "") {
  state.user = null;
  $("#main").hidden = true;
  $("#login").hidden = false;
  showLoginError($("#login-error"), reason);
  draw();
}

async function startSession(user) {
  state.user = user;
  // The hub's scanners may send a prefix/suffix around each code (set on the dispatcher's desk).
  loadScannerOptions({ request }).then((opts) => scanner.configure(opts));
  $("#login").hidden = true;
  $("#main").hidden = false;
  draw();
  await flush(); // scans kept from before go first
}

async function login(ev) {
  ev.preventDefault();
  const user = await submitLogin(ev.target, { err: $("#login-error"), allowed: isPoint, t, problem: sentence });
  if (user) startSession(user);
}

async function logout() {
  await logoutRequest();
  showLogin();
}

// --- start ---------------------------------------------------------------------------------

let scanner = null; // createScanner, in wire()

function wire() {
  $("#login-form").addEventListener("submit", login);
  $("#logout").addEventListener("click", logout);
  scanner = createScanner(document, onScan);
  window.addEventListener("online", () => { if (state.user) flush(); });
  setInterval(() => { if (state.user && document.visibilityState === "visible") flush(); }, POLL_MS);
  translateDom(document, i18n);
  i18n.onChange(() => { translateDom(document, i18n); draw(); });
}

async function boot() {
  wire();
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/point/sw.js", { scope: "/point/" }).catch(() => {});
  const who = await whoIsIn({ allowed: isPoint });
  if (who.status === "user") startSession(who.user);
  else showLogin(navigator.onLine ? "" : t("login.noConnection"));
}

// For the browser test and for debugging from the console.
window.laadbak = { state, i18n, scanner: () => scanner.options };

boot();
