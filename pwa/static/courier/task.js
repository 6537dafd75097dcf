// The deliver / fail / collect form of one stop: scan its parcels, take the
// proof or the reason, and queue the action once nothing is missing.
import { html, render, nothing } from "../kit/html.js";
import { $, t, i18n, computeView, notify } from "./store.js";
import { isOpen, normBarcode, matchBarcode, reasonText, statusText, FAIL_REASONS } from "./util.js";
import { taskMissing } from "./model.js";
import { whoText } from "./views.js";
import { enqueue } from "./sync.js";
import { bindScanForm } from "./scanner.js";
import { SignaturePad } from "./signature.js";

const MAX_PHOTO_BYTES = 5 * 1024 * 1024;
const SHRINK_PHOTO_OVER = 1.5 * 1024 * 1024;
const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"];
const TASKS = ["deliver", "fail", "collect"];

let task = null; // the open form
const stopIndex = (view, stopId) => (view?.route?.stops || []).findIndex((s) => s.stopId === stopId);
const taskStop = (view) => (view?.route?.stops || []).find((s) => s.stopId === task?.stopId) || null;
const rerender = () => updateTask(computeView());

export function closeTask() {
  task = null;
}

export function buildTask(stopId, kind) {
  const view = computeView();
  const i = stopIndex(view, stopId);
  const el = $("#screen-task");
  render(nothing, el); // a new form: fresh elements, no listeners of the last one
  if (i < 0 || !TASKS.includes(kind)) {
    task = null;
    render(html`<div class="screen-head"><a class="back" href="#/route">${t("stop.back")}</a></div>
      <div class="card empty">${t("task.notOnRoute")}</div>`, el);
    return;
  }
  task = { stopId, kind, index: i, scanned: new Set(), proof: "signature", reason: null, pad: null, photo: null,
    photoInfo: "", feedback: null, busy: false };
  updateTask(view);
  if (kind !== "fail") bindScanForm($("#task-scan"), onTaskScan);
  if (kind === "deliver") selectProof("signature");
  window.scrollTo(0, 0);
}

function scanCard(s) {
  const parcels = s.parcels || [];
  const f = task.feedback;
  return html`
    <section class="card">
      <h2>${t("task.scanTitle")} <span class="count" id="task-count">${parcels.filter((p) => task.scanned.has(p.barcode)).length}/${parcels.length}</span></h2>
      <form class="scan" id="task-scan" autocomplete="off">
        <input id="task-input" class="scan-input" name="barcode" placeholder=${t("scan.placeholder")}
               autocomplete="off" autocapitalize="characters" spellcheck="false" enterkeyhint="done"
               aria-label=${t("scan.parcelLabel")}>
        <button class="btn camera-btn" type="button" data-camera="task-input" hidden aria-label=${t("scan.camera")}>📷</button>
        <button class="btn primary" type="submit">${t("scan.add")}</button>
      </form>
      <div id="task-feedback" class="feedback ${f?.kind || ""}" aria-live="assertive">${f?.text || ""}</div>
      <ul class="parcels checklist" id="task-parcels">${parcels.map((p) => html`
        <li class=${task.scanned.has(p.barcode) ? "done" : ""}><span class="tick">${task.scanned.has(p.barcode) ? "✓" : ""}</span>
          <span class="barcode">${p.barcode}</span></li>`)}</ul>
    </section>`;
}

function proofCard() {
  const tab = (kind) => html`<button type="button" role="tab" data-proof=${kind} aria-selected=${String(task.proof === kind)}
    @click=${() => selectProof(kind)}>${t(`task.proof.${kind}`)}</button>`;
  return html`
    <section class="card">
      <h2>${t("task.proof")}</h2>
      <div class="seg" role="tablist">${["signature", "photo", "recipient", "pickup_point"].map(tab)}</div>
      <div class="pane" data-pane="signature" ?hidden=${task.proof !== "signature"}>
        <div class="sig-wrap"><canvas id="sig" class="sig" aria-label=${t("task.sigPad")}></canvas>
          <span class="sig-hint" id="sig-hint" ?hidden=${task.pad && !task.pad.isEmpty}>${t("task.sigHere")}</span></div>
        <div class="row"><button type="button" class="btn" id="sig-clear" @click=${() => task.pad?.clear()}>${t("task.sigClear")}</button></div>
        <label>${t("task.sigName")}<input id="sig-name" autocomplete="off" @input=${rerender}></label>
      </div>
      <div class="pane" data-pane="photo" ?hidden=${task.proof !== "photo"}>
        <label class="btn big file">${t("task.takePhoto")}
          <input type="file" id="photo-input" accept="image/*" capture="environment" @change=${onPhoto}>
        </label>
        <img id="photo-preview" class="photo-preview" alt=${t("task.photoAlt")} ?hidden=${!task.photo}>
        <p id="photo-info" class="sub">${task.photoInfo}</p>
      </div>
      <div class="pane" data-pane="recipient" ?hidden=${task.proof !== "recipient"}>
        <label>${t("task.recipientName")}<input id="recipient-name" autocomplete="off"
          placeholder=${t("task.recipientPlaceholder")} @input=${rerender}></label>
      </div>
      <div class="pane" data-pane="pickup_point" ?hidden=${task.proof !== "pickup_point"}>
        <p>${t("task.pickupPointText")}</p>
      </div>
    </section>`;
}

function reasonCard() {
  return html`
    <section class="card">
      <h2>${t("task.why")}</h2>
      <div class="reasons" id="reasons">${FAIL_REASONS.map((code) => html`
        <button type="button" class="btn reason" data-reason=${code} aria-pressed=${String(task.reason === code)}
          @click=${() => pickReason(code)}>${t(`reason.${code}`)}</button>`)}</div>
      <label><span>${t("task.note")} <span id="note-need" class="sub">${task.reason === "other" ? t("task.required") : t("task.optional")}</span></span>
        <textarea id="fail-note" rows="3" placeholder=${t("task.notePlaceholder")} @input=${rerender}></textarea>
      </label>
    </section>`;
}

function taskScreen(view) {
  const s = taskStop(view);
  const n = task.index + 1;
  const closedText = !s ? t("task.gone") : !isOpen(s) ? t("task.alreadyDone", { status: statusText(s.status, t) }) : "";
  const missing = s && isOpen(s) ? taskMissing(task, s, formState(), t) : [];
  const known = s || { address: "", parcels: [] };
  return html`
    <div class="screen-head">
      <a class="back" href="#/stop/${task.stopId}">${t("task.back", { n })}</a>
      <h1>${t(`task.title.${task.kind}`)}</h1>
      <p class="sub">${n}. ${known.address} · ${s ? whoText(s) : ""}</p>
    </div>
    <div id="task-closed" class="card notice" ?hidden=${!closedText}>${closedText}</div>
    ${task.kind !== "fail" ? scanCard(known) : nothing}
    ${task.kind === "deliver" ? proofCard() : nothing}
    ${task.kind === "fail" ? reasonCard() : nothing}
    <div class="action-bar sticky">
      <p class="hint" id="task-missing">${missing.length ? t("task.stillNeeded", { list: missing.join(", ") }) : ""}</p>
      <button class="btn big ${task.kind === "fail" ? "danger" : "primary"}" type="button" id="task-confirm"
        ?disabled=${Boolean(closedText) || missing.length > 0 || task.busy} @click=${confirmTask}>${t(`task.confirm.${task.kind}`)}</button>
    </div>`;
}

/** What the form's own fields hold (read from the DOM: typing does not re-render). */
function formState() {
  const value = (sel) => ($(sel)?.value || "").trim();
  return { signatureEmpty: !task.pad || task.pad.isEmpty, hasPhoto: Boolean(task.photo),
    recipientName: value("#recipient-name"), note: value("#fail-note") };
}

export function updateTask(view) {
  if (!task) return;
  render(taskScreen(view), $("#screen-task"));
}

function selectProof(kind) {
  task.proof = kind;
  rerender();
  if (kind === "signature" && !task.pad) {
    task.pad = new SignaturePad($("#sig"), { onChange: rerender });
    rerender();
  }
}

function pickReason(code) {
  task.reason = code;
  rerender();
  if (code === "other") $("#fail-note").focus();
}

function onTaskScan(raw) {
  const s = taskStop(computeView());
  if (!s) return;
  const barcode = matchBarcode(raw, (s.parcels || []).map((p) => p.barcode));
  if (!barcode) {
    task.feedback = { kind: "error", text: t("task.notParcel", { barcode: normBarcode(raw) }) };
    if (navigator.vibrate) navigator.vibrate([200, 80, 200]);
  } else if (task.scanned.has(barcode)) {
    task.feedback = { kind: "warn", text: t("task.alreadyScanned", { barcode }) };
  } else {
    task.scanned.add(barcode);
    task.feedback = { kind: "ok", text: `${barcode} ✓` };
    if (navigator.vibrate) navigator.vibrate(40);
  }
  rerender();
}

async function onPhoto(ev) {
  const file = ev.target.files?.[0];
  task.photo = null;
  task.photoInfo = file ? t("task.preparingPhoto") : "";
  rerender();
  if (!file) return;
  try {
    const blob = await preparePhoto(file);
    task.photo = blob;
    if (task.photoUrl) URL.revokeObjectURL(task.photoUrl);
    task.photoUrl = URL.createObjectURL(blob);
    $("#photo-preview").src = task.photoUrl;
    task.photoInfo = t("task.photoReady", { mb: i18n.number(blob.size / 1024 / 1024, { maximumFractionDigits: 1, minimumFractionDigits: 1 }) });
  } catch (err) {
    task.photoInfo = err.message;
    ev.target.value = "";
  }
  rerender();
}

/** A photo the server takes: JPEG, PNG or WebP of at most 5 MB; big photos are shrunk first. */
async function preparePhoto(file) {
  const okType = PHOTO_TYPES.includes(file.type);
  if (okType && file.size <= SHRINK_PHOTO_OVER) return file;
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((res) => canvas.toBlob(res, "image/jpeg", 0.82));
    if (blob && blob.size <= MAX_PHOTO_BYTES) return blob;
  } catch { /* could not decode: judge the original */ }
  if (!okType) throw new Error(t("task.photoFormat"));
  if (file.size > MAX_PHOTO_BYTES) {
    throw new Error(t("task.photoTooBig", { mb: i18n.number(file.size / 1024 / 1024, { maximumFractionDigits: 1 }) }));
  }
  return file;
}

async function confirmTask() {
  const s = taskStop(computeView());
  if (!task || !s || !isOpen(s) || taskMissing(task, s, formState(), t).length || task.busy) return;
  task.busy = true;
  const n = task.index + 1;
  const where = { n, address: s.address };
  const barcodes = (s.parcels || []).map((p) => p.barcode);
  const said = (text) => (navigator.onLine ? text : t("task.savedOffline", { text }));
  try {
    if (task.kind === "deliver") {
      let proof;
      let photo = null;
      if (task.proof === "signature") {
        proof = { kind: "signature", signature: task.pad.toDataURL() };
        const name = $("#sig-name").value.trim();
        if (name) proof.recipientName = name;
      } else if (task.proof === "photo") {
        proof = { kind: "photo", photoId: null };
        photo = task.photo;
      } else if (task.proof === "recipient") {
        proof = { kind: "recipient", recipientName: $("#recipient-name").value.trim() };
      } else {
        proof = { kind: "pickup_point" };
      }
      await enqueue("deliver", { path: `/courier/stops/${s.stopId}/deliver`, body: { barcodes, proof }, stopId: s.stopId, label: t("label.deliver", where), photo });
      notify("ok", said(t("task.delivered", { n })));
    } else if (task.kind === "collect") {
      await enqueue("collect", { path: `/courier/stops/${s.stopId}/collect`, body: { barcodes }, stopId: s.stopId, label: t("label.collect", where) });
      notify("ok", said(t("task.collected", { n })));
    } else {
      const body = { reason: task.reason };
      const note = $("#fail-note").value.trim();
      if (note) body.note = note;
      await enqueue("fail", { path: `/courier/stops/${s.stopId}/fail`, body, stopId: s.stopId, label: t("label.fail", where) });
      notify("info", said(t("task.failedAs", { n, reason: reasonText(task.reason, t) })));
    }
    location.hash = "#/route";
  } finally {
    if (task) task.busy = false;
  }
}
