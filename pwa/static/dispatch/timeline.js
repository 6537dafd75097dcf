// The timeline: one row per courier over the shift hours, each stop a focusable,
// draggable chip at its ETA (pushed right so chips never overlap), the customer
// windows as thin bars under them, and a now-line. Rows render on their own: an
// event for one courier re-renders that row only.
import { html, render } from "../kit/html.js";
import { courierSummary } from "./store.js";

const PX_PER_HOUR = 140;
const CHIP = 48;        // chips are touch targets: 48 × 48 px
const GAP = 2;
const ROW_BUDGET_MS = 8; // rows drawn per frame while the day streams

/** Minutes since midnight of a local ISO time ("2026-12-04T09:28:18" or "09:28"), or null. */
export function minutes(value) {
  const m = /(?:^|T)(\d{2}):(\d{2})(?::(\d{2}))?/.exec(String(value ?? ""));
  return m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3] || 0) / 60 : null;
}

/** The minutes one courier's row spans (shift, route start/end, every ETA), unrounded: {from, to}. */
export function rowSpan(courier, route) {
  let from = Infinity, to = -Infinity;
  const see = (v) => {
    const m = minutes(v);
    if (m === null) return;
    if (m < from) from = m;
    if (m > to) to = m;
  };
  if (courier) { see(courier.shiftStart); see(courier.shiftEnd); }
  if (route) { see(route.start); see(route.end); for (const s of route.stops) see(s.eta); }
  return { from, to };
}

/** Whole hours over row spans (an iterable of {from, to}); 08–17 when nothing is known. */
export function hoursOf(spans) {
  let from = Infinity, to = -Infinity;
  for (const r of spans) {
    if (r.from < from) from = r.from;
    if (r.to > to) to = r.to;
  }
  if (!Number.isFinite(from)) { from = 8 * 60; to = 17 * 60; }
  return { from: Math.floor(from / 60) * 60, to: Math.max(Math.ceil(to / 60) * 60, Math.floor(from / 60) * 60 + 60) };
}

/** The hours the timeline spans: from the earliest shift start to the latest end, whole hours. */
export function span(state) {
  const rows = [];
  for (const [id, c] of state.couriers) rows.push(rowSpan(c, state.routes.get(id)));
  for (const [id, r] of state.routes) if (!state.couriers.has(id)) rows.push(rowSpan(null, r));
  return hoursOf(rows);
}

/** x (px) of each chip: at its ETA, but never over the chip before it (a reload's at its arrival). */
export function chipPositions(stops, from) {
  const xs = [];
  let next = 0;
  for (const s of stops) {
    const m = minutes(s.eta || s.serviceStart || s.arrival) ?? from;
    const x = Math.max(next, ((m - from) / 60) * PX_PER_HOUR - CHIP / 2);
    xs.push(Math.max(0, Math.round(x)));
    next = xs[xs.length - 1] + CHIP + GAP;
  }
  return xs;
}

/**
 * A route's track in riding order: its stops (``{stop, n}``, n counting stops from 1) with each
 * reload (``{reload}``, a hub visit between two loops) before the first stop of the loop it
 * starts; ``loops`` is how many loops the route rides (1 when it has no reloads).
 */
export function trackItems(route) {
  const stops = route?.stops || [];
  const reloads = new Map((route?.reloads || []).map((r) => [r.loop, r]));
  const items = [];
  let loop = null;
  stops.forEach((s, i) => {
    const l = s.loop ?? 1;
    if (l !== loop && reloads.has(l)) items.push({ reload: reloads.get(l) });
    loop = l;
    items.push({ stop: s, n: i + 1 });
  });
  return { items, loops: reloads.size ? Math.max(1, ...stops.map((s) => s.loop ?? 1)) : 1 };
}

export class Timeline {
  constructor(root, { t, i18n, onSelect }) {
    Object.assign(this, { root, t, i18n, onSelect });
    this.rows = new Map(); // courierId → element
    this.dirty = new Set(); // courier ids whose row waits to be drawn (see drain)
    this.drainFrame = 0;
    this.clocks = new Map();
    this.range = null;
    this.width = 0;
    root.replaceChildren();
    this.scroll = document.createElement("div");
    this.scroll.className = "tl-scroll";
    this.axis = document.createElement("div");
    this.axis.className = "tl-axis";
    this.body = document.createElement("div");
    this.body.className = "tl-rows";
    this.nowLine = document.createElement("div");
    this.nowLine.className = "tl-now";
    this.nowLine.setAttribute("aria-hidden", "true");
    this.body.append(this.nowLine);
    this.scroll.append(this.axis, this.body);
    this.hint = document.createElement("p");
    this.hint.className = "tl-hint";
    root.append(this.hint, this.scroll);
  }

  /** Everything (a new day, a language switch, the hour range changed). */
  renderAll(state) {
    this.state = state;
    this.spans = new Map();
    for (const [id, c] of state.couriers) this.spans.set(id, rowSpan(c, state.routes.get(id)));
    this.range = hoursOf(this.spans.values());
    this.hint.textContent = this.t(state.couriers.size ? "timeline.hint" : "timeline.empty");
    const order = [...state.couriers.keys()];
    for (const [id, row] of this.rows) if (!state.couriers.has(id)) { row.remove(); this.rows.delete(id); }
    this.width = 0;
    this.dirty.clear();
    for (const id of order) this.renderRow(state, id);
    this.body.append(...order.map((id) => this.rows.get(id)));
    this.body.append(this.nowLine);
    this.renderAxis();
    this.renderNow(state);
    this.selRow = this.selectionRow(state);
    if (!this.scrolled && state.stops.size) this.scrollToWork();
  }

  /** Once: scroll the hours so the first chip still to do (else the first chip) is in view. */
  scrollToWork() {
    const chips = [...this.body.querySelectorAll(".chip.st-next, .chip.st-late, .chip.st-planned")];
    const xs = (chips.length ? chips : [...this.body.querySelectorAll(".chip")]).map((c) => Number(c.dataset.x));
    if (!xs.length) return;
    this.scrolled = true;
    this.scroll.scrollLeft = Math.max(0, Math.min(...xs) - 60);
  }

  /**
   * Only the rows whose courier changed; everything when the hour range moved. Nothing here
   * depends on positions: a batch of positions alone touches no row and scans no stop. Each
   * row's span (its minutes) is computed when that row's route or courier changes, and the hour
   * range is folded from the rows' spans (one per courier), never from all the stops.
   */
  update(state, change) {
    this.state = state;
    if (change.all || change.lang || !this.range || !this.spans
        || [...change.couriers].some((id) => !this.rows.has(id))) {
      this.renderAll(state);
      return;
    }
    const rows = new Set(change.couriers);
    for (const id of change.stops) {
      const s = state.stops.get(id);
      if (s) rows.add(s.courierId);
    }
    const first = new Set();
    if (change.selection) {
      // Only the rows of the previous and the new selection change (drawn first).
      const now = this.selectionRow(state);
      if (this.selRow != null) first.add(this.selRow);
      if (now != null) first.add(now);
      this.selRow = now;
    }
    if (rows.size) {
      for (const id of rows) if (state.couriers.has(id)) this.spans.set(id, rowSpan(state.couriers.get(id), state.routes.get(id)));
      const range = hoursOf(this.spans.values());
      if (range.from !== this.range.from || range.to !== this.range.to) {
        // The hours moved while the day streams: every row again, a few per frame.
        this.range = range;
        this.renderAxis();
        this.renderNow(state);
        for (const id of state.couriers.keys()) rows.add(id);
      }
    }
    for (const id of first) this.dirty.add(id);
    for (const id of rows) if (!first.has(id)) this.dirty.add(id);
    this.drain();
    if (change.tick) this.renderNow(state);
  }

  /**
   * Draw the rows waiting, at most ROW_BUDGET_MS of them per frame (the first always), the
   * rest on the next frames: a burst of route changes never makes one long frame.
   */
  drain() {
    if (this.drainFrame) return;
    const t0 = performance.now();
    let widened = false;
    for (const id of this.dirty) {
      this.dirty.delete(id);
      if (!this.state.couriers.has(id)) continue;
      const before = this.width;
      this.renderRow(this.state, id);
      widened ||= this.width > before;
      if (performance.now() - t0 > ROW_BUDGET_MS) break;
    }
    if (widened) this.renderAxis();
    if (this.dirty.size) {
      this.drainFrame = requestAnimationFrame(() => {
        this.drainFrame = 0;
        this.drain();
      });
    }
  }

  /** The i18n clock, remembered per language and minute (Intl formatters are slow to make). */
  clock(value) {
    const m = /(?:^|T)(\d{2}:\d{2})/.exec(String(value));
    const key = `${this.i18n.lang}|${m ? m[1] : value}`;
    let text = this.clocks.get(key);
    if (text === undefined) {
      text = this.i18n.clock(value);
      this.clocks.set(key, text);
    }
    return text;
  }

  selectionRow(state) {
    const sel = state.selection;
    if (sel?.kind === "courier") return sel.id;
    if (sel?.kind === "stop") return state.stops.get(sel.id)?.courierId ?? null;
    return null;
  }

  renderAxis() {
    const { from, to } = this.range;
    const hours = [];
    for (let m = from; m <= to; m += 60) hours.push(m);
    const total = Math.max(((to - from) / 60) * PX_PER_HOUR, this.width);
    render(html`<span class="tl-label tl-corner"></span><span class="tl-hours">${hours.map((m) =>
      html`<span class="tl-hour" data-x=${((m - from) / 60) * PX_PER_HOUR}>${this.clock(`${String(m / 60).padStart(2, "0")}:00`)}</span>`)}</span>`, this.axis);
    this.axis.querySelector(".tl-hours").style.width = `${total}px`;
    place(this.axis);
  }

  renderNow(state) {
    const m = minutes(state.now);
    if (m === null || !this.range || m < this.range.from || m > this.range.to) {
      this.nowLine.hidden = true;
      return;
    }
    this.nowLine.hidden = false;
    this.nowLine.style.left = `calc(var(--tl-label) + ${((m - this.range.from) / 60) * PX_PER_HOUR}px)`;
  }

  renderRow(state, cid) {
    let row = this.rows.get(cid);
    if (!row) {
      row = document.createElement("div");
      row.className = "tl-row";
      row.dataset.courierRow = String(cid);
      this.rows.set(cid, row);
    }
    const c = state.couriers.get(cid);
    const route = state.routes.get(cid);
    const stops = route?.stops || [];
    const { items, loops } = trackItems(route);
    const { from, to } = this.range;
    const xs = chipPositions(items.map((it) => it.stop || it.reload), from);
    const width = Math.max(((to - from) / 60) * PX_PER_HOUR, (xs[xs.length - 1] ?? 0) + CHIP + GAP);
    this.width = Math.max(this.width, width);
    const sum = courierSummary(state, cid);
    const sel = state.selection;
    const x = (v) => ((minutes(v) ?? from) - from) / 60 * PX_PER_HOUR;
    const shiftX = x(c.shiftStart || route?.start);
    const shiftW = Math.max(0, x(c.shiftEnd || route?.end) - shiftX);
    const t = this.t;
    render(html`
      <button type="button" class="tl-label courier-label" data-courier=${cid}
        aria-pressed=${String(sel?.kind === "courier" && sel.id === cid)}
        @click=${() => this.onSelect({ kind: "courier", id: cid })}>
        <span class="swatch" data-colour=${c.colour}></span>
        <span class="tl-name">${c.name}</span>
        <span class="tl-sum">${route ? t("timeline.done", { done: sum.done, total: sum.total }) : t("timeline.noRoute")}${sum.late ? html` · <strong class="late-text">${t("timeline.late", { n: sum.late })}</strong>` : ""}</span>
      </button>
      <div class="tl-track" data-w=${width}>
        <span class="tl-shift" data-x=${shiftX} data-w=${shiftW}></span>
        ${items.map((it, k) => (it.stop ? this.windowBar(it.stop, xs[k], x) : ""))}
        ${items.map((it, k) => (it.stop ? this.chip(state, it.stop, it.n - 1, xs[k], c, loops) : this.reloadMark(it.reload, xs[k])))}
      </div>`, row);
    place(row);
    for (const sw of row.querySelectorAll(".swatch")) sw.style.backgroundColor = sw.dataset.colour;
    return row;
  }

  windowBar(s, _chipX, x) {
    if (!s.windowStart || !s.windowEnd) return "";
    const a = x(s.windowStart);
    return html`<span class="tl-window" data-x=${a} data-w=${Math.max(2, x(s.windowEnd) - a)}></span>`;
  }

  /** A hub visit between loops: back, reload, out on the next loop with its load. */
  reloadMark(r, cx) {
    const clock = (v) => (v ? this.clock(v) : "–");
    const label = this.t("reload.label", { n: r.loop, from: clock(r.arrival), to: clock(r.departure),
      kg: Math.round(r.loadKg ?? 0), l: Math.round(r.loadL ?? 0) });
    return html`<span class="tl-reload" data-reload-loop=${r.loop} data-x=${cx} title=${label}>
      <span aria-hidden="true">${this.t("reload.short")}</span><span class="visually-hidden">${label}</span></span>`;
  }

  chip(state, s, i, cx, courier, loops = 1) {
    const entry = state.stops.get(s.stopId) || s;
    const st = entry.state || "planned";
    const t = this.t;
    const clock = (v) => (v ? this.clock(v) : "–");
    const selected = state.selection?.kind === "stop" && state.selection.id === s.stopId;
    const movable = s.status === "planned" || s.status === "arrived";
    const loop = s.loop ?? 1;
    const short = loops > 1 ? t("chip.loopShort", { n: loop }) : "";
    let label = t("chip.label", { n: short ? `${i + 1} ${short}` : i + 1, // the visible text first
      ref: s.reference || `#${s.stopId}`, address: s.address || "", state: t(`state.${st}`),
      eta: clock(s.eta), from: clock(s.windowStart), to: clock(s.windowEnd),
    });
    if (loops > 1) label = `${label}, ${t("chip.loop", { n: loop })}`;
    // Several loops: each chip names its loop, and even loops are drawn dashed (as on the map).
    return html`<button type="button" class="chip st-${st}${selected ? " selected" : ""}${loops > 1 && loop % 2 === 0 ? " loop-even" : ""}"
      data-stop-id=${s.stopId} data-loop=${loop}
      data-x=${cx} data-colour=${courier.colour} draggable=${movable ? "true" : "false"}
      aria-label=${label} aria-pressed=${String(selected)} title=${label}
      @click=${(ev) => this.onSelect({ kind: "stop", id: s.stopId }, { keyboard: ev.detail === 0 })}>${i + 1}${short
        ? html` <span class="chip-loop">${short}</span>` : ""}</button>`;
  }
}

/** Positions and widths from data-x / data-w (CSSOM: the CSP forbids style attributes); unchanged ones untouched. */
function place(root) {
  for (const e of root.querySelectorAll("[data-x]")) setStyle(e, "left", `${e.dataset.x}px`);
  for (const e of root.querySelectorAll("[data-w]")) setStyle(e, "width", `${e.dataset.w}px`);
  for (const e of root.querySelectorAll(".chip[data-colour]")) setStyle(e, "borderColor", e.dataset.colour);
}

function setStyle(e, prop, value) {
  if (e.style[prop] !== value) e.style[prop] = value;
}
