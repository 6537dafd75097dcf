// Laadbak returns desk (/returns-desk/): scan a return (keyboard wedge), receive it, inspect each
// item (a checklist of big yes/no buttons, photos, a grade and, for D, repair or supplier), then
// the task screen (task-views.js): a batch worked step-major, ONE step at a time with a large
// pictogram and the item shown big, very few words, read aloud on a tap, big done / problem /
// need help buttons and a timer. Writes go through the kit's offline queue with an Idempotency-Key each.
// The API is docs/api.md "Returns desk"; the flow docs/returns.md.
import { html, render } from "../kit/html.js";
import { request, problemSentence } from "../kit/api.js";
import { paintConnection } from "../kit/stream.js";
import { createI18n, translateDom } from "../kit/i18n.js";
import { langSwitch } from "../kit/lang-switch.js";
import { roleIn, submitLogin, showLoginError, whoIsIn, logoutRequest } from "../kit/session.js";
import { openQueue, replayOutcome, uuid } from "../kit/queue.js";
import { createScanner, loadScannerOptions } from "../kit/scanner.js";
import kitEn from "../kit/messages/en.js";
import kitNl from "../kit/messages/nl.js";
import en from "./messages/en.js";
import nl from "./messages/nl.js";
import { GRADES, batchOf, dispositionsFor, inspectionBody, withList } from "./model.js";
import { taskViews } from "./task-views.js";
import { createSupplier } from "./supplier.js";
import { createReturnsLive } from "./live.js";

const i18n = createI18n({ en: { ...kitEn, ...en }, nl: { ...kitNl, ...nl } });
const t = i18n.t;
const $ = (sel) => document.querySelector(sel);
const allowed = roleIn("returns", "admin");
const queue = openQueue("laadbak-returns-desk");

const state = {
  user: null,
  screen: "home", // home | return | inspect | tasks | task | supplier
  ret: null, // the return scanned (GET /receiving/returns/scan/{code})
  checklist: null, answers: {}, photos: [], grade: "", disposition: "", note: "", result: null,
  queue: [], // the task batches (GET /returns-desk/tasks): own first, then nobody's, then others'
  batch: null, fetchedAt: 0, // the batch worked on (step-major) and when its lists came (for the timer)
  regrade: "", finished: [], // the grade after a repair; what the batch's items ended as
  supplier: [], // the items to send back to their supplier (GET /returns-desk/supplier)
  alert: "", note2: "",
  sent: 0, // writes answered, for the browser test to wait on
};
const sentence = (res) => problemSentence(res, t, i18n.lang);
const euro = (cents) => new Intl.NumberFormat(i18n.lang, { style: "currency", currency: "EUR" }).format(cents / 100);

// --- the offline queue --------------------------------------------------------------------------

/** POST ``body`` to ``path`` once: kept on the device first, sent now or when back online. */
async function send(path, body) {
  const item = await queue.add({ key: uuid(), path, body });
  return flush(item.n);
}

/** Send what is queued, oldest first; answers the data of the item ``wanted`` when it was sent. */
async function flush(wanted = null) {
  let answer = null;
  for (const item of await queue.all()) {
    let res;
    try {
      res = await request("POST", item.path, { body: item.body, key: item.key });
    } catch {
      say("", t("queued"));
      return null;
    }
    const outcome = replayOutcome(res.status);
    if (outcome === "login") return showLogin(t("error.loginNeeded"));
    if (outcome === "retry") { say(sentence(res)); return null; }
    await queue.remove(item.n);
    state.sent += 1;
    if (outcome === "refused") say(sentence(res));
    else if (item.n === wanted) { answer = res.data; say("", t("sent")); }
  }
  return answer;
}

function say(alert, note = "") {
  state.alert = alert;
  state.note2 = note;
  draw();
}

// --- screens ------------------------------------------------------------------------------------

function draw() {
  render(langSwitch(i18n, { short: true }), $("#top-lang"));
  $("#who").textContent = state.user ? state.user.displayName || state.user.username : "";
  $("#logout").hidden = !state.user;
  $("#alert").textContent = state.alert;
  $("#status").textContent = state.note2;
  if (!state.user) return;
  const { tasksView, taskView } = taskViews({ state, i18n, back, act: {
    openBatch, takeOver, stepEvent, finalCheck, finish, readAloud, draw,
  } });
  const views = { home: homeView, return: returnView, inspect: inspectView, tasks: tasksView, task: taskView, supplier: supplier.view };
  render(views[state.screen](), $("#main"));
}

const supplier = createSupplier({ state, t, back: (screen) => back(screen), request, send, say, draw: () => draw() });

const back = (screen) => html`<button class="btn ghost" type="button" @click=${() => go(screen)}>${t("back")}</button>`;

function go(screen) {
  state.screen = screen;
  state.alert = "";
  if (screen === "tasks") loadTasks();
  if (screen === "supplier") supplier.load();
  draw();
}

function homeView() {
  return html`
    <form class="card" @submit=${(e) => { e.preventDefault(); findReturn(e.target.code.value); }}>
      <label><span>${t("home.scan")}</span>
        <input id="code" name="code" data-scan-field autocomplete="off" autocapitalize="characters"
          spellcheck="false" aria-label=${t("home.scanLabel")}></label>
      <button class="btn primary big" type="submit">${t("home.find")}</button>
    </form>
    <p><button id="to-tasks" class="btn big" type="button" @click=${() => go("tasks")}>${t("home.tasks")}</button></p>
    <p><button id="to-supplier" class="btn big" type="button" @click=${() => go("supplier")}>${t("home.supplier")}</button></p>`;
}

function returnView() {
  const r = state.ret;
  return html`${back("home")}<h1>${t("ret.title", { code: r.code })}</h1>
    <ul class="items">${r.items.map((i) => html`<li>
      <p class="question">${t("ret.item", { sku: i.sku, status: i.status })}</p>
      ${["received", "unexpected"].includes(i.status) ? html`<button class="btn primary big" type="button"
        data-inspect=${i.id} @click=${() => openInspection(i.id)}>${t("ret.inspect")}</button>` : ""}
    </li>`)}</ul>
    ${r.status === "registered" ? html`<button id="receive" class="btn primary big" type="button"
      @click=${receive}>${t("ret.receive")}</button>` : ""}`;
}

function inspectView() {
  const c = state.checklist;
  if (state.result) {
    const r = state.result;
    return html`<h1>${t("insp.title", { sku: c.sku })}</h1>
      <p id="insp-result" class="question">${t("insp.result", { grade: r.grade, disposition: r.disposition,
        refund: euro(r.refund.totalCents) })}</p>
      <button class="btn primary big" type="button" @click=${() => openTask(c.itemId)}>${t("insp.toTasks")}</button>`;
  }
  const yesNo = (q) => html`<p class="question" id=${`q-${q.id}`}>${q.text[i18n.lang] || q.text.en}</p>
    <div class="yesno" role="group" aria-labelledby=${`q-${q.id}`}>
      ${[true, false].map((v) => html`<button class="btn big" type="button" data-q=${q.id} data-v=${String(v)}
        aria-pressed=${String(state.answers[q.id] === v)}
        @click=${() => { state.answers[q.id] = v; draw(); }}>${t(v ? "insp.yes" : "insp.no")}</button>`)}
    </div>`;
  return html`${back("return")}<h1>${t("insp.title", { sku: c.sku })}</h1>
    ${c.questions.map(yesNo)}
    <label><span>${t("insp.photos", { n: state.photos.length, min: c.minPhotos })}</span>
      <input id="photo" type="file" accept="image/jpeg,image/png,image/webp" capture="environment"
        @change=${(e) => uploadPhoto(e.target)}></label>
    <p class="question" id="grade-label">${t("insp.grade")}</p>
    <div class="grades" role="group" aria-labelledby="grade-label">
      ${["", ...GRADES].map((g) => html`<button class="btn" type="button" data-grade=${g}
        aria-pressed=${String(state.grade === g)} @click=${() => { state.grade = g; state.disposition = dispositionsFor(c, g)[0] || ""; draw(); }}>
        ${g === "scrap" ? t("insp.scrap") : g || t("insp.gradeAuto")}</button>`)}
    </div>
    ${dispositionChoice(c)}
    <label><span>${t("insp.note")}</span>
      <textarea id="note" .value=${state.note} @input=${(e) => { state.note = e.target.value; }}></textarea></label>
    <p><button id="save-inspection" class="btn primary big" type="button" @click=${saveInspection}>
      ${t("insp.submit")}</button></p>`;
}

/** Where a grade with more than one way goes (D: repair, or back to the supplier): big buttons. */
function dispositionChoice(c) {
  const ways = dispositionsFor(c, state.grade);
  if (ways.length < 2) return "";
  return html`<p class="question" id="disposition-label">${t("insp.disposition")}</p>
    <div class="grades" role="group" aria-labelledby="disposition-label">
      ${ways.map((d) => html`<button class="btn big" type="button" data-disposition=${d}
        aria-pressed=${String(state.disposition === d)} @click=${() => { state.disposition = d; draw(); }}>
        ${t(`disp.${d}`)}</button>`)}
    </div>`;
}

// --- actions ------------------------------------------------------------------------------------

async function findReturn(code) {
  const c = String(code || "").trim();
  if (!c) return;
  const res = await request("GET", `/receiving/returns/scan/${encodeURIComponent(c)}`);
  if (!res.ok) return say(sentence(res));
  state.ret = res.data;
  go("return");
}

async function receive() {
  const r = state.ret;
  const items = r.lines.map((l) => ({ code: l.sku, quantity: l.quantity })); // the units counted per line
  const data = await send(`/receiving/returns/${r.id}/receive`, { items });
  if (data) { state.ret = data; draw(); }
}

async function openInspection(itemId) {
  const res = await request("GET", `/returns-desk/items/${itemId}/checklist`);
  if (!res.ok) return say(sentence(res));
  Object.assign(state, { checklist: res.data, answers: {}, photos: [], grade: "", disposition: "", note: "", result: null });
  go("inspect");
}

async function uploadPhoto(input) {
  const file = input.files && input.files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  let res;
  try {
    res = await request("POST", "/returns-desk/photos", { form, key: uuid(), timeout: 60_000 });
  } catch {
    return say(t("error.network"));
  }
  input.value = "";
  if (!res.ok) return say(sentence(res));
  state.photos.push(res.data.photoId);
  say("");
}

async function saveInspection() {
  const c = state.checklist;
  const body = inspectionBody(state.answers, state.photos, state.grade, state.note, state.disposition);
  const data = await send(`/returns-desk/items/${c.itemId}/inspection`, body);
  if (data) { state.result = data; draw(); }
}

async function loadTasks() {
  const res = await request("GET", "/returns-desk/tasks").catch(() => null);
  if (res?.ok) { state.queue = res.data; draw(); }
}

/** The batch the item is in (the same template, step-major); an item without one on its own. */
async function openTask(itemId) {
  const res = await request("GET", "/returns-desk/tasks").catch(() => null);
  const batch = res?.ok ? res.data.find((b) => b.items.some((l) => l.itemId === itemId)) : null;
  if (batch) return openBatch(batch);
  const one = await request("GET", `/returns-desk/items/${itemId}/tasks`);
  if (!one.ok) return say(sentence(one));
  openBatch(batchOf(one.data));
}

function openBatch(batch) {
  Object.assign(state, { batch, fetchedAt: Date.now(), finished: [], regrade: "" });
  go("task");
}

function showList(list) {
  state.batch = withList(state.batch, list);
  state.fetchedAt = Date.now();
  draw();
}

async function stepEvent(itemId, n, kind) {
  const data = await send(`/returns-desk/items/${itemId}/steps/${n}`, { kind });
  if (data) showList(data);
}

/** Take the lists over from whoever has them: asked for explicitly, never by a step's tap. */
async function takeOver(lists) {
  for (const l of lists) {
    const data = await send(`/returns-desk/items/${l.itemId}/worker`, { worker: state.user.username });
    if (data && state.screen === "task") showList(data);
  }
  if (state.screen === "tasks") loadTasks();
}

async function finalCheck(list, passed) {
  const note = passed ? "" : (window.prompt(t("check.failNote")) || "").trim();
  if (!passed && !note) return;
  const data = await send(`/returns-desk/items/${list.itemId}/check`, { passed, note });
  if (data) showList(data);
}

async function finish(s) {
  const body = {};
  const bin = s.bin ? $("#bin").value.trim() : "";
  if (bin) body.bin = bin;
  if (s.regrade) {
    if (!state.regrade) return say(t("finish.regradeFirst"));
    body.regrade = state.regrade;
  }
  const data = await send(`/returns-desk/items/${s.list.itemId}/finish`, body);
  if (data) {
    state.finished.push({ end: data.end, sku: data.sku || s.list.sku });
    state.regrade = "";
    showList({ ...s.list, status: "finished" });
  }
}

/** The step's words read aloud in the language shown (the browser's speech synthesis). */
function readAloud(text) {
  const synth = window.speechSynthesis;
  if (!synth || !text) return;
  const u = new SpeechSynthesisUtterance(text);
  u.lang = i18n.lang === "nl" ? "nl-NL" : "en-GB";
  synth.cancel();
  synth.speak(u);
  window.laadbak.spoken.push(text);
}

function onScan(code) {
  if (state.screen === "home") findReturn(code);
  else if (state.screen === "task" && $("#bin")) $("#bin").value = code;
  else if (state.screen === "supplier") supplier.onScan(code);
}

// --- the live stream: other devices' changes without a reload (live.js) -----------------------

/** The list of ``itemId`` read again, into the batch at hand (e.g. handed to someone else). */
async function reloadItem(itemId) {
  const res = await request("GET", `/returns-desk/items/${itemId}/tasks`).catch(() => null);
  if (res?.ok && state.screen === "task") showList(res.data);
}

const live = createReturnsLive({
  state,
  reload: { tasks: loadTasks, item: reloadItem, supplier: () => supplier.load(), draw: () => draw() },
  connection: (s) => paintConnection($("#conn"), s, t, Boolean(state.user)),
  sessionEnded: () => showLogin(t("login.sessionEnded")),
});

// --- session ------------------------------------------------------------------------------------

function showLogin(reason = "") {
  state.user = null;
  live.stop();
  $("#main").hidden = true;
  $("#login").hidden = false;
  showLoginError($("#login-error"), reason);
  draw();
}

let scanner = null; // createScanner, in wire()

function startSession(user) {
  state.user = user;
  // The hub's scanners may send a prefix/suffix around each code (set on the dispatcher's desk).
  loadScannerOptions({ request }).then((opts) => scanner.configure(opts));
  $("#login").hidden = true;
  $("#main").hidden = false;
  go("home");
  flush();
  live.start();
}

function wire() {
  $("#login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const user = await submitLogin(ev.target, { err: $("#login-error"), allowed, t, problem: sentence });
    if (user) startSession(user);
  });
  $("#logout").addEventListener("click", async () => { await logoutRequest(); showLogin(); });
  scanner = createScanner(document, onScan);
  translateDom(document, i18n);
  i18n.onChange(() => { translateDom(document, i18n); live.relabel(); draw(); });
  window.addEventListener("online", () => { flush(); live.kick(); });
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") live.kick(); });
  // The timer: redrawn every second while a step runs.
  setInterval(() => { if (state.screen === "task" && $("#timer")) draw(); }, 1000);
}

async function boot() {
  wire();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/returns-desk/sw.js", { scope: "/returns-desk/" }).catch(() => {});
  }
  const who = await whoIsIn({ allowed });
  if (who.status === "user") startSession(who.user);
  else showLogin(navigator.onLine ? "" : t("login.noConnection"));
}

// For the browser test and for debugging from the console.
window.laadbak = { state, i18n, spoken: [], scanner: () => scanner.options };

boot();
