// The panels' modal dialog: one <dialog> labelled by its heading, focus on its first field,
// kept inside while open (showModal makes the page behind inert), Esc closes, and focus
// goes back to the button that opened it.
import { html, render, nothing } from "../../kit/html.js";

const TITLE_ID = "panel-dialog-title";
let el = null;
let current = null; // {view: () => template, opener: Element|null, onClose}

function dialogEl() {
  if (el) return el;
  el = document.createElement("dialog");
  el.id = "panel-dialog";
  el.className = "panel-dialog";
  el.setAttribute("aria-labelledby", TITLE_ID);
  el.addEventListener("close", () => {
    if (el.open) return; // shown again already (whileHidden)
    const was = current;
    current = null;
    render(nothing, el);
    if (was?.onClose) was.onClose();
    if (was?.opener && document.contains(was.opener)) was.opener.focus();
  });
  document.body.append(el);
  return el;
}

/**
 * Open the dialog with ``view`` (a function giving the whole content, drawn again by redraw()).
 * The view puts its heading in title(text). ``opener``: the element focus returns to.
 */
export function showDialog(view, { onClose, opener } = {}) {
  const d = dialogEl();
  if (d.open) d.close();
  current = { view, opener: opener ?? document.activeElement, onClose };
  redraw();
  d.showModal();
  const first = d.querySelector("[autofocus], input:not([type=hidden]), select, textarea, button");
  if (first) first.focus();
}

/** Draw the open dialog again (after its state changed). */
export function redraw() {
  if (current && el) render(current.view(), el);
}

/** Close the open dialog (its onClose runs; focus goes back to its opener); with ``view``: only that one. */
export function closeDialog(view) {
  if (view && current?.view !== view) return;
  if (el?.open) el.close();
}

/** Whether the dialog of ``view`` is the one shown (an answer may come after it was dismissed). */
export const isShown = (view) => Boolean(el?.open && current?.view === view);

/** Hide the dialog for a while (to draw on the map) and show it again with the same view. */
export async function whileHidden(task) {
  if (!current || !el) return task();
  const keep = current;
  current = { ...keep, onClose: null, opener: null };
  el.close();
  try {
    return await task();
  } finally {
    current = keep;
    redraw();
    el.showModal();
  }
}

/** The dialog's heading, which labels it. */
export const title = (text) => html`<h2 id=${TITLE_ID}>${text}</h2>`;

/** The error line of a form: the server's sentence (or ours), read out at once. */
export const errorLine = (text) => (text ? html`<p class="panel-error" role="alert">${text}</p>` : nothing);

/** Cancel and submit buttons. */
export const actions = (t, submitText, busy) => html`<div class="panel-actions">
  <button type="button" class="panel-btn" @click=${() => closeDialog()}>${t("panel.cancel")}</button>
  <button type="submit" class="panel-btn primary" ?disabled=${busy} aria-busy=${busy ? "true" : "false"}>
    ${busy ? t("panel.sending") : submitText}</button></div>`;

/** An input handler that keeps the typed value in ``form[key]`` and draws the dialog again. */
export const keep = (form, key, after) => (e) => {
  form[key] = e.target.value;
  if (after) after(e.target.value);
  redraw();
};

/** A labelled field: label above its control (the control given as a template with id ``id``). */
export const labelled = (id, text, control, hint = nothing) => html`<div class="panel-field">
  <label for=${id}>${text}</label>${control}${hint}</div>`;
