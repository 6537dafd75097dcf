// Moving stops by hand: HTML5 drag and drop of the timeline's chips (and of the
// unplanned list's items) onto a courier's row, and the keyboard way: select a
// stop, pick a courier in the move panel, or move it earlier / later on its route.
// Drop on another courier → POST /stops/{id}/assign; another place on the same row →
// PUT /couriers/{id}/pinned-order. Nothing changes on screen until the server's
// events say so; a refusal shows the server's sentence in the desk-flash.
import { html } from "../kit/html.js";
import { reorder, movableStops } from "./store.js";

const MIME = "text/plain";

/**
 * The moves, bound to the desk: ``send(method, path, body)`` → answer ({ok, status, data});
 * ``refused(res)`` shows the server's sentence; ``done(text)`` a short notice.
 */
export function createMoves({ store, send, refused, done, t }) {
  const busy = new Set();

  async function run(stopId, method, path, body, okText, onRefused) {
    if (busy.has(stopId)) return false;
    busy.add(stopId);
    markBusy(stopId, true);
    try {
      const res = await send(method, path, body);
      if (!res.ok) {
        refused(res);
        onRefused?.(res);
        return false;
      }
      done(okText);
      return true;
    } catch {
      refused(null);
      onRefused?.(null);
      return false;
    } finally {
      busy.delete(stopId);
      markBusy(stopId, false);
    }
  }

  const refOf = (stopId) => {
    const s = store.getState().stops.get(stopId) || store.getState().unplanned.find((u) => u.stopId === stopId);
    return s?.reference || `#${stopId}`;
  };

  return {
    /** Give the stop to ``courierId`` (a stop of another courier or an unplanned one);
     * ``onRefused(res)`` also hears a refusal (the map shows it at the courier's marker). */
    assign: (stopId, courierId, { onRefused } = {}) => run(stopId, "POST", `/stops/${stopId}/assign`, { courierId },
      t("move.done", { ref: refOf(stopId) }), onRefused),
    /** Pin ``stopId`` just before ``beforeId`` (null: last) on its own courier's route. */
    reorder(stopId, courierId, beforeId) {
      const route = store.getState().routes.get(courierId);
      const ids = reorder(route, stopId, beforeId);
      const now = movableStops(route).map((s) => s.stopId);
      if (ids.length === now.length && ids.every((id, i) => id === now[i])) return Promise.resolve(false);
      return run(stopId, "PUT", `/couriers/${courierId}/pinned-order`, { stopIds: ids }, t("move.orderDone"));
    },
    /** One place earlier (-1) or later (+1) among the route's stops still to do. */
    step(stopId, delta) {
      const s = store.getState().stops.get(stopId);
      if (!s) return Promise.resolve(false);
      const route = store.getState().routes.get(s.courierId);
      const ids = movableStops(route).map((x) => x.stopId);
      const i = ids.indexOf(stopId);
      if (i < 0) return Promise.resolve(false);
      const j = i + delta;
      if (j < 0 || j >= ids.length) return Promise.resolve(false);
      const before = delta < 0 ? ids[j] : ids[j + 1] ?? null;
      return this.reorder(stopId, s.courierId, before);
    },
    isBusy: (stopId) => busy.has(stopId),
  };
}

function markBusy(stopId, on) {
  for (const e of document.querySelectorAll(`[data-stop-id="${stopId}"], [data-unplanned-id="${stopId}"]`)) {
    e.classList.toggle("busy", on);
    if (on) e.setAttribute("aria-busy", "true");
    else e.removeAttribute("aria-busy");
  }
}

/** Wire drag and drop on ``root`` (the desk): chips and unplanned items onto courier rows. */
export function bindDrag(root, { store, moves }) {
  let dragging = null; // {stopId, from: courierId|null}

  root.addEventListener("dragstart", (ev) => {
    const item = ev.target.closest?.("[data-stop-id], [data-unplanned-id]");
    if (!item) return;
    const stopId = Number(item.dataset.stopId ?? item.dataset.unplannedId);
    const from = item.dataset.stopId ? store.getState().stops.get(stopId)?.courierId ?? null : null;
    dragging = { stopId, from };
    ev.dataTransfer.effectAllowed = "move";
    ev.dataTransfer.setData(MIME, String(stopId));
    item.classList.add("dragging");
  });
  root.addEventListener("dragend", (ev) => {
    ev.target.closest?.(".dragging")?.classList.remove("dragging");
    for (const r of root.querySelectorAll(".drop-target")) r.classList.remove("drop-target");
    dragging = null;
  });
  root.addEventListener("dragover", (ev) => {
    const row = ev.target.closest?.("[data-courier-row]");
    if (!row || !dragging) return;
    ev.preventDefault();
    ev.dataTransfer.dropEffect = "move";
    if (!row.classList.contains("drop-target")) {
      for (const r of root.querySelectorAll(".drop-target")) r.classList.remove("drop-target");
      row.classList.add("drop-target");
    }
  });
  root.addEventListener("drop", (ev) => {
    const row = ev.target.closest?.("[data-courier-row]");
    if (!row) return;
    ev.preventDefault();
    row.classList.remove("drop-target");
    const stopId = dragging?.stopId ?? Number(ev.dataTransfer.getData(MIME));
    const from = dragging?.from ?? store.getState().stops.get(stopId)?.courierId ?? null;
    dragging = null;
    if (!stopId) return;
    const to = Number(row.dataset.courierRow);
    if (from !== to) {
      moves.assign(stopId, to);
      return;
    }
    moves.reorder(stopId, to, chipAfter(row, ev.clientX, stopId));
  });
}

/** The id of the first chip of ``row`` whose middle is right of ``x`` (the dragged one left out). */
export function chipAfter(row, x, stopId) {
  for (const chip of row.querySelectorAll("[data-stop-id]")) {
    const id = Number(chip.dataset.stopId);
    if (id === stopId || chip.getAttribute("draggable") !== "true") continue;
    const r = chip.getBoundingClientRect();
    if (r.left + r.width / 2 > x) return id;
  }
  return null;
}

/** The move panel for the selected stop: the keyboard alternative to dragging. */
export function movePanel({ state, moves, t, close }) {
  const sel = state.selection;
  if (sel?.kind !== "stop") return "";
  const s = state.stops.get(sel.id) || state.unplanned.find((u) => u.stopId === sel.id);
  if (!s) return "";
  const open = !s.status || s.status === "planned" || s.status === "arrived" || s.courierId == null;
  const couriers = [...state.couriers.values()].filter((c) => c.id !== s.courierId);
  const ref = s.reference || `#${s.stopId}`;
  const onSubmit = (ev) => {
    ev.preventDefault();
    const to = Number(new FormData(ev.target).get("courier"));
    if (to) moves.assign(s.stopId, to);
  };
  return html`
    <form class="move-form card" @submit=${onSubmit} aria-labelledby="move-title"
      @keydown=${(ev) => { if (ev.key === "Escape") close(); }}>
      <h2 id="move-title">${t("move.title", { ref })}</h2>
      <p class="move-where">${s.address || ""}${s.state ? html` · ${t(`state.${s.state}`)}` : ""}</p>
      ${open ? html`
        <label>${t("move.to")}
          <select name="courier" required>
            ${couriers.map((c) => html`<option value=${c.id}>${c.name}</option>`)}
          </select>
        </label>
        <div class="move-actions">
          <button class="btn primary" type="submit">${t("move.submit")}</button>
          ${s.courierId != null ? html`
            <button class="btn" type="button" @click=${() => moves.step(s.stopId, -1)}>${t("move.earlier")}</button>
            <button class="btn" type="button" @click=${() => moves.step(s.stopId, 1)}>${t("move.later")}</button>` : ""}
          <button class="btn ghost" type="button" @click=${close}>${t("move.close")}</button>
        </div>` : html`<div class="move-actions"><button class="btn ghost" type="button" @click=${close}>${t("move.close")}</button></div>`}
    </form>`;
}
