// Laadbak picker app (/pick/): log in, choose a batch of the hub, and work it on a
// handheld scanner: the cart's totes, then per line the bin, the product and the tote,
// every scan checked by the server. Plain ES modules on the shared kit, no build step.
// The API is docs/api.md "Picking (the handheld)"; the flow docs/warehouse.md.
import { html, render } from "../kit/html.js";
import { request, problemSentence } from "../kit/api.js";
import { paintConnection } from "../kit/stream.js";
import { createI18n, translateDom } from "../kit/i18n.js";
import { langSwitch } from "../kit/lang-switch.js";
import { roleIn, submitLogin, showLoginError, whoIsIn, logoutRequest } from "../kit/session.js";
import { uuid } from "../kit/queue.js";
import { createScanner, loadScannerOptions, cameraScanSupported, scanWithCamera } from "../kit/scanner.js";
import { signal } from "../kit/feedback.js";
import kitEn from "../kit/messages/en.js";
import kitNl from "../kit/messages/nl.js";
import en from "./messages/en.js";
import nl from "./messages/nl.js";
import packEn from "./messages/pack-en.js";
import packNl from "./messages/pack-nl.js";
import { createPacking } from "./pack.js";
import sortEn from "./messages/sort-en.js";
import sortNl from "./messages/sort-nl.js";
import { createSorting } from "./sort.js";
import { stepOf, progressOf, clampQuantity, scanEndpoint, scanIdFor, outcomeOf, sortBatches, pickSentence } from "./model.js";
import { createPickLive } from "./live.js";

const i18n = createI18n({ en: { ...kitEn, ...en, ...packEn, ...sortEn }, nl: { ...kitNl, ...nl, ...packNl, ...sortNl } });
const t = i18n.t;
const $ = (sel) => document.querySelector(sel);
const isPicker = roleIn("picker", "admin");
const BATCH_KEY = "laadbak.pick.batch";

const state = {
  user: null,
  mode: "pick", // or "pack": the packing screen (pack.js); "sort": the sort station (sort.js)
  batches: null, // the list, or null before it came
  batch: null, // the batch at hand (GET /pick/batches/{id})
  quantity: 1, // the stepper's value for the line at hand
  confirmShort: false,
  alert: "", // the last error sentence (role="alert")
  note: "", // the last good answer, for screen readers
  unsent: null, // the last event that got no answer: {path, body, scanId}
  answered: 0, // events done (answered or not), for the browser test to wait on
  camera: null, // an AbortController while the camera looks for a code
};

const general = (res) => problemSentence(res, t, i18n.lang);
/** A refusal as one sentence: the pick codes in the picker's language (model.js pickSentence). */
const sentence = (res) => pickSentence(res, t, i18n.lang, general);

// --- screens -------------------------------------------------------------------------------

function draw() {
  render(langSwitch(i18n, { short: true }), $("#top-lang"));
  $("#who").textContent = state.user ? state.user.displayName || state.user.username : "";
  $("#logout").hidden = !state.user;
  $("#alert").textContent = state.alert;
  $("#status").textContent = state.note;
  if (!state.user) return;
  const packingNow = state.mode === "pack" || state.mode === "sort";
  $("#screen-pack").hidden = !packingNow;
  if (packingNow) {
    $("#screen-list").hidden = $("#screen-batch").hidden = true;
    const screen = state.mode === "sort" ? sorting : packing;
    render(screen.view(() => { state.mode = "pick"; loadBatches(); }), $("#pack-view"));
    // The scanner types into the scan field: back to it after the language switch or a redraw.
    const el = document.activeElement;
    if (!el || el === document.body || el.closest("#top-lang")) focusScan();
    return;
  }
  const inBatch = Boolean(state.batch);
  $("#screen-list").hidden = inBatch;
  $("#screen-batch").hidden = !inBatch;
  if (inBatch) drawBatch();
  else render(listView(), $("#screen-list"));
}

function listView() {
  const list = sortBatches(state.batches, state.user?.id);
  return html`
    <div class="screen-head">
      <h1>${t("list.title")}</h1>
      <button class="btn" type="button" @click=${loadBatches}>${t("list.refresh")}</button>
      <button id="to-sort" class="btn primary" type="button" @click=${openSorting}>${t("sort.tab")}</button>
      <button id="to-pack" class="btn primary" type="button" @click=${openPacking}>${t("pack.tab")}</button>
    </div>
    ${state.batches === null ? "" : list.length === 0 ? html`<p class="empty">${t("list.empty")}</p>` : html`
      <ul class="batches">
        ${list.map((b) => {
          const mine = b.status === "taken" && b.picker?.id === state.user.id;
          return html`<li class="batch-item">
            <button class="btn primary big" type="button" data-batch=${b.id} @click=${() => takeBatch(b.id)}>
              ${t(mine ? "list.continue" : "list.take", { number: b.number })}</button>
            <p class="sub">${t("list.summary", { cutoff: i18n.clock(b.cutoff), n: b.progress.tasks, totes: b.totes })}
              ${mine ? html`<strong class="pill">${t("list.yours")}</strong>` : ""}</p>
          </li>`;
        })}
      </ul>`}`;
}

function drawBatch() {
  const b = state.batch;
  const step = stepOf(b);
  const p = progressOf(b);
  state.quantity = clampQuantity(state.quantity, step.left);
  render(html`
    <div class="batch-head">
      <button class="btn ghost" type="button" @click=${backToList}>${t("batch.back")}</button>
      <h1>${t("batch.title", { number: b.number })}</h1>
    </div>
    <div class="progress">
      <progress id="progress" max=${Math.max(1, p.total)} .value=${p.done} aria-label=${t("progress.label")}></progress>
      <span id="progress-text">${t("progress", { done: p.done, total: p.total })}</span>
    </div>`, $("#batch-head"));
  render(html`
    <p id="instruction" class="instruction">${t(step.key, step.params)}</p>
    ${step.big ? html`<p id="big-code" class="big-code" data-phase=${step.phase}>${step.phase === "totes"
      ? html`<span class="big-label">${t("step.totesBig")}</span> ` : ""}${step.big}</p>` : ""}
    ${step.phase === "product" || step.phase === "bin" ? html`<p class="sub">${b.current.name}</p>` : ""}
    ${step.phase === "product" && step.left > 1 ? stepper(step.left) : ""}
    ${step.phase === "product" && step.left === 1 ? html`<p class="qty-one">${t("qty.label")}: 1</p>` : ""}
    ${step.phase === "tote" ? html`<p class="sub">${t("qty.inHand", { n: b.inHand })}</p>` : ""}
    ${step.phase === "done" ? html`<p>${t("done.text", { number: b.number })}</p>` : ""}`, $("#step"));
  $("#scan").hidden = step.phase === "done";
  render(actionsView(step), $("#batch-actions"));
}

function stepper(left) {
  const set = (n) => { state.quantity = clampQuantity(n, left); draw(); focusScan(); };
  return html`
    <div class="stepper" role="group" aria-label=${t("qty.label")}>
      <button class="btn step-btn" type="button" aria-label=${t("qty.less")} ?disabled=${state.quantity <= 1}
        @click=${() => set(state.quantity - 1)}>−</button>
      <output id="quantity" class="qty" aria-live="polite">${state.quantity}</output>
      <button class="btn step-btn" type="button" aria-label=${t("qty.more")} ?disabled=${state.quantity >= left}
        @click=${() => set(state.quantity + 1)}>+</button>
    </div>`;
}

function actionsView(step) {
  if (step.phase === "done") {
    return html`<button class="btn primary big" type="button" @click=${backToList}>${t("done.back")}</button>`;
  }
  if (state.confirmShort && step.canShort) {
    const c = state.batch.current;
    return html`<div class="confirm">
      <p>${t("short.confirm", { bin: c.bin, sku: c.name })}</p>
      <button class="btn danger big" type="button" id="short-yes" @click=${shortPick}>${t("short.yes")}</button>
      <button class="btn big" type="button" @click=${() => { state.confirmShort = false; draw(); focusScan(); }}>${t("short.cancel")}</button>
    </div>`;
  }
  return html`<div class="actions">
    ${cameraScanSupported() ? html`<button class="btn big" type="button" id="camera-scan" @click=${toggleCamera}>
      ${t(state.camera ? "camera.stop" : "camera.button")}</button>` : ""}
    ${step.canShort ? html`<button class="btn big" type="button" id="short" @click=${() => { state.confirmShort = true; draw(); }}>${t("short.button")}</button>` : ""}
    ${step.canSkip ? html`<button class="btn big" type="button" id="skip" @click=${skipLine}>${t("skip.button")}</button>` : ""}
  </div>`;
}

function focusScan() {
  if (state.mode === "pack" || state.mode === "sort") { const f = $("#pack-scan"); if (document.activeElement !== f) f.focus({ preventScroll: true }); return; }
  const field = $("#scan");
  if (state.batch && !field.hidden && document.activeElement !== field) field.focus({ preventScroll: true });
}

function say(kind, text) {
  if (kind === "ok") { state.alert = ""; state.note = text; } else { state.alert = text; state.note = ""; }
  signal(kind);
}

// --- the server ----------------------------------------------------------------------------

async function loadBatches() {
  try {
    const res = await request("GET", "/pick/batches");
    if (res.status === 401) return showLogin(t("login.sessionEnded"));
    if (res.ok) state.batches = res.data;
    else state.alert = sentence(res);
  } catch {
    state.alert = t("net.scanAgain");
  }
  draw();
}

async function takeBatch(id) {
  state.alert = "";
  try {
    const res = await request("POST", `/pick/batches/${id}/take`, { body: {}, key: uuid() });
    if (res.status === 401) return showLogin(t("login.sessionEnded"));
    if (!res.ok) {
      say("error", sentence(res));
      await loadBatches();
      return;
    }
    openBatch(res.data);
  } catch {
    say("error", t("net.scanAgain"));
    draw();
  }
}

function openBatch(batch) {
  state.batch = batch;
  state.quantity = stepOf(batch).left;
  state.confirmShort = false;
  try { localStorage.setItem(BATCH_KEY, String(batch.id)); } catch { /* not kept */ }
  draw();
  focusScan();
}

function backToList() {
  state.camera?.abort();
  state.batch = null;
  state.confirmShort = false;
  try { localStorage.removeItem(BATCH_KEY); } catch { /* fine */ }
  loadBatches();
}

async function refreshBatch() {
  const res = await request("GET", `/pick/batches/${state.batch.id}`);
  if (res.ok) {
    const before = state.batch.current?.id;
    state.batch = res.data;
    if (res.data.current?.id !== before || res.data.phase !== "product") state.quantity = stepOf(res.data).left;
  }
}

// One event at a time, in the order scanned: a fast scanner may send the next before the last answered.
let chain = Promise.resolve();
const enqueue = (fn) => { chain = chain.then(fn, fn); return chain; };

/** POST a pick event (a scan id of its own, or the unanswered one's on a retry); redraw from the answer. */
async function send(path, fields) {
  const scanId = scanIdFor(state.unsent, { path, body: fields }, uuid);
  let res;
  try {
    res = await request("POST", path, { body: { scanId, ...fields } });
  } catch {
    state.unsent = { path, body: fields, scanId };
    say("error", t("net.scanAgain"));
    draw();
    return;
  }
  state.unsent = null;
  if (res.status === 401) return showLogin(t("login.sessionEnded"));
  const out = outcomeOf(res, sentence);
  say(out.kind === "ok" ? "ok" : "error", out.message);
  if (out.kind === "stale") return backToList();
  state.confirmShort = false;
  try { await refreshBatch(); } catch { /* the answer stands; the next scan fetches again */ }
  draw();
  focusScan();
}

/** ``send`` and count it done, whatever came of it. */
async function sendCounted(path, fields) {
  try {
    await send(path, fields);
  } finally {
    state.answered += 1;
    document.body.dataset.answered = String(state.answered);
  }
}

const packing = createPacking({
  t, say, sentence, redraw: draw, focusScan, onLogin: () => showLogin(t("login.sessionEnded")),
});

const sorting = createSorting({
  t, say, sentence, redraw: draw, focusScan, onLogin: () => showLogin(t("login.sessionEnded")),
});

function openSorting() {
  state.mode = "sort";
  state.alert = "";
  sorting.reset();
  draw();
  focusScan();
  sorting.load();
}

function openPacking() {
  state.mode = "pack";
  state.alert = "";
  draw();
  focusScan();
}

function onScan(code) {
  if (state.mode === "pack" || state.mode === "sort") {
    const screen = state.mode === "sort" ? sorting : packing;
    enqueue(() => screen.onScan(code).finally(() => {
      state.answered += 1;
      document.body.dataset.answered = String(state.answered);
    }));
    return;
  }
  if (!state.batch) return;
  enqueue(() => {
    const step = stepOf(state.batch);
    if (step.phase === "done") return undefined;
    const fields = step.phase === "product" ? { code, quantity: clampQuantity(state.quantity, step.left) } : { code };
    return sendCounted(scanEndpoint(state.batch.id, step.phase), fields);
  });
}

const shortPick = () => enqueue(() => sendCounted(`/pick/batches/${state.batch.id}/short`, { taskId: state.batch.current?.id ?? "" }));
const skipLine = () => enqueue(() => sendCounted(`/pick/batches/${state.batch.id}/skip`, {}));

// --- the live stream: other devices' changes without a scan (live.js) ------------------------

const live = createPickLive({
  state,
  changed(changed, before) {
    const b = state.batch;
    if (changed.batch && b) {
      const moved = b.current?.id !== before?.current?.id;
      if (moved || b.phase !== "product") state.quantity = stepOf(b).left;
      if (moved) state.confirmShort = false;
      if (changed.resequenced) state.note = t("live.resequenced", { bin: b.current?.bin ?? "" });
    }
    draw();
    focusScan();
  },
  reloadList: () => loadBatches(),
  connection: (s) => paintConnection($("#conn"), s, t, Boolean(state.user)),
  sessionEnded: () => showLogin(t("login.sessionEnded")),
});

/** One code from the camera (where the browser has BarcodeDetector), sent as a scan; a second tap stops it. */
async function toggleCamera() {
  if (state.camera) { state.camera.abort(); return; }
  const video = $("#camera");
  state.camera = new AbortController();
  video.hidden = false;
  draw();
  try {
    const code = await scanWithCamera(video, { signal: state.camera.signal });
    if (code) onScan(code);
  } catch {
    say("error", t("camera.failed"));
  } finally {
    state.camera = null;
    video.hidden = true;
    draw();
    focusScan();
  }
}

// --- logging in ----------------------------------------------------------------------------

function showLogin(reason = "") {
  state.user = null;
  live.stop();
  state.batch = null;
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
  live.start();
  let saved = null;
  try { saved = localStorage.getItem(BATCH_KEY); } catch { /* none */ }
  if (saved) {
    try {
      const res = await request("GET", `/pick/batches/${Number(saved)}`);
      if (res.ok && res.data.status === "taken" && res.data.picker?.id === user.id) return openBatch(res.data);
    } catch { /* offline: the list */ }
  }
  await loadBatches();
}

async function login(ev) {
  ev.preventDefault();
  const user = await submitLogin(ev.target, { err: $("#login-error"), allowed: isPicker, t, problem: sentence });
  if (user) startSession(user);
}

async function logout() {
  await logoutRequest();
  try { localStorage.removeItem(BATCH_KEY); } catch { /* fine */ }
  showLogin();
}

// --- start ---------------------------------------------------------------------------------

let scanner = null; // createScanner, in wire()

function wire() {
  $("#login-form").addEventListener("submit", login);
  $("#logout").addEventListener("click", logout);
  scanner = createScanner(document, onScan);
  // The scan field keeps focus: a tap elsewhere (not on another control) gives it back.
  $("#scan").addEventListener("blur", () => setTimeout(() => {
    const el = document.activeElement;
    if (!el || el === document.body) focusScan();
  }, 0));
  translateDom(document, i18n);
  i18n.onChange(() => { translateDom(document, i18n); live.relabel(); draw(); });
  window.addEventListener("online", () => live.kick());
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") live.kick(); });
}

async function boot() {
  wire();
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/pick/sw.js", { scope: "/pick/" }).catch(() => {});
  const who = await whoIsIn({ allowed: isPicker });
  if (who.status === "user") startSession(who.user);
  else showLogin(navigator.onLine ? "" : t("login.noConnection"));
}

// For the browser test and for debugging from the console.
window.laadbak = { state, i18n, live, packing: packing.state, sorting: sorting.state, scanner: () => scanner.options };

boot();
