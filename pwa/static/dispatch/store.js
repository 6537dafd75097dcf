// The dispatcher's desk state, pure: the day as the hub stream tells it (a DeskDay
// snapshot, then events), no DOM and no network. Node-tested in tests/js/dispatch-store.test.mjs.
//
// state = {hub, date, now, seq, couriers: Map id→courier, routes: Map courierId→route,
//          stops: Map stopId→stop (+courierId, routeId, index, state), unplanned: [],
//          positions: Map courierId→pos, alerts: Map alertId→alert, messages: [],
//          shops, pickupPoints, selection: null|{kind, id}, connection}
// Subscribers get (state, change): change = {all?, couriers: Set, stops: Set, positions: Set,
// routes: Set (courierIds whose route changed), alerts?, unplanned?, selection?}.

import { isPickingEvent } from "./panels/picking-model.js";

// Distinguishable colours with a contrast of at least 3:1 on white, by courier order.
export const PALETTE = [
  "#1f6fd1", "#c2410c", "#15803d", "#9333ea", "#b91c1c", "#0e7490",
  "#a16207", "#be185d", "#4d7c0f", "#4338ca", "#7c2d12", "#0f766e",
  "#6d28d9", "#9f1239", "#1e40af", "#854d0e",
];

const DONE = new Set(["delivered", "collected"]);
const OPEN = new Set(["planned", "arrived"]);
const OFF = new Set(["redirected", "cancelled"]);
export const STOP_STATES = ["done", "failed", "redirected", "late", "next", "planned"];

/** "2026-12-04T09:30:00" → comparable string "2026-12-04T09:30:00"; null stays null. */
const clock = (v) => (v ? String(v).slice(0, 19) : null);

/**
 * The display state of a stop: done, failed, redirected, late, next or planned.
 * ``isNext``: the first open stop of its route; ``now``: local ISO time of the hub.
 */
export function stopState(stop, isNext = false, now = null) {
  if (!stop) return "planned";
  if (DONE.has(stop.status)) return "done";
  if (stop.status === "failed") return "failed";
  if (OFF.has(stop.orderStatus) || OFF.has(stop.status)) return "redirected"; // taken off this route
  const end = clock(stop.windowEnd);
  const at = clock(stop.serviceStart || stop.eta);
  if (stop.late || (end && at && at > end) || (end && now && clock(now) > end)) return "late";
  return isNext ? "next" : "planned";
}

/** The index of a route's next stop (first planned or arrived), or -1. */
export function nextIndex(route) {
  return (route?.stops || []).findIndex((s) => OPEN.has(s.status));
}

/** The fallback courier list when a day carries none (the older hub snapshot): from the routes. */
function couriersFromRoutes(routes) {
  return routes.map((r) => ({
    id: r.courierId, name: `#${r.courierId}`, colour: null, shiftStart: r.start, shiftEnd: r.end,
    shiftStatus: null, routeId: r.id,
  }));
}

/**
 * A change that is a batch of positions and nothing else (the hub stream's `positions`
 * messages): only those couriers' markers have anything to show.
 */
export function onlyPositions(change) {
  if (!change?.positions?.size || change.couriers?.size || change.stops?.size || change.routes?.size) return false;
  return !Object.values(change).some((v) => v === true || (typeof v === "string" && v !== ""));
}

const emptyChange = () => ({ couriers: new Set(), stops: new Set(), positions: new Set(), routes: new Set() });

export function createStore({ now = () => null } = {}) {
  const state = {
    hub: null, date: null, now: null, seq: null,
    couriers: new Map(), routes: new Map(), stops: new Map(), unplanned: [],
    positions: new Map(), alerts: new Map(), messages: [],
    shops: [], pickupPoints: [],
    selection: null, connection: "offline",
  };
  const listeners = new Set();

  const notify = (change) => { for (const fn of listeners) fn(state, change); };

  function colourOf(courierId) {
    const known = state.couriers.get(courierId);
    if (known?.colour) return known.colour;
    const order = [...state.couriers.keys()].sort((a, b) => a - b).indexOf(courierId);
    return PALETTE[(order >= 0 ? order : state.couriers.size) % PALETTE.length];
  }

  /** Put a route's stops in the stops map (dropping that courier's stops that left it). */
  function indexRoute(route, change, held = null) {
    const cid = route.courierId;
    const ids = new Set(route.stops.map((s) => s.stopId));
    for (const old of held?.stops || []) {
      const s = state.stops.get(old.stopId);
      if (s && s.courierId === cid && !ids.has(old.stopId)) {
        state.stops.delete(old.stopId);
        change.stops.add(old.stopId);
      }
    }
    const next = nextIndex(route);
    route.stops.forEach((s, i) => {
      const prev = state.stops.get(s.stopId);
      const entry = { ...prev, ...s, courierId: cid, routeId: route.id, index: i };
      entry.state = stopState(entry, i === next, state.now);
      state.stops.set(s.stopId, entry);
      change.stops.add(s.stopId);
    });
    if (ids.size) {
      const before = state.unplanned.length;
      state.unplanned = state.unplanned.filter((u) => !ids.has(u.stopId));
      if (state.unplanned.length !== before) change.unplanned = true;
    }
    change.routes.add(cid);
    change.couriers.add(cid);
  }

  function load(day) {
    const d = day || {};
    const before = { hub: state.hub?.id ?? null, date: state.date, couriers: state.couriers, routes: state.routes,
      stops: state.stops, positions: state.positions, unplanned: state.unplanned };
    state.hub = d.hub || null;
    state.date = d.date || null;
    state.now = d.now || now() || null;
    state.seq = d.seq ?? null;
    state.shops = d.shops || [];
    state.pickupPoints = d.pickupPoints || [];
    const routes = (d.routes || []).filter((r) => r && r.courierId != null);
    const couriers = d.couriers?.length ? d.couriers : couriersFromRoutes(routes);
    state.couriers = new Map();
    for (const c of couriers) state.couriers.set(c.id, { ...c });
    for (const c of state.couriers.values()) c.colour = c.colour || colourOf(c.id);
    state.routes = new Map();
    state.stops = new Map();
    state.unplanned = (d.unplanned || []).map((u) => ({ ...u }));
    const change = emptyChange();
    for (const r of routes) {
      state.routes.set(r.courierId, r);
      indexRoute(r, change);
    }
    state.positions = new Map();
    for (const p of d.positions || []) state.positions.set(p.courierId, { ...p });
    if (state.selection && !exists(state.selection)) state.selection = null;
    notify(sameDay(before) ? differences(before) : { ...change, all: true });
  }

  /** The same hub, day and couriers as ``before``: a snapshot after a reconnect, not a new day. */
  function sameDay(before) {
    if (before.hub === null || before.hub !== (state.hub?.id ?? null) || before.date !== state.date) return false;
    if (before.couriers.size !== state.couriers.size) return false;
    for (const id of state.couriers.keys()) if (!before.couriers.has(id)) return false;
    return true;
  }

  /**
   * What a snapshot of the same day changed since ``before``: drawing only that keeps the
   * desk smooth after a reconnect (drawing the whole day again is seconds at 4,000 stops).
   */
  function differences(before) {
    const change = emptyChange();
    const same = (a, b) => a === b || (a != null && b != null && JSON.stringify(a) === JSON.stringify(b));
    for (const [id, c] of state.couriers) if (!same(c, before.couriers.get(id))) change.couriers.add(id);
    for (const cid of new Set([...state.routes.keys(), ...before.routes.keys()])) {
      const a = state.routes.get(cid), b = before.routes.get(cid);
      if (a?.id !== b?.id || a?.version !== b?.version || !same(a?.stops, b?.stops)) {
        change.routes.add(cid);
        change.couriers.add(cid);
      }
    }
    for (const id of new Set([...state.stops.keys(), ...before.stops.keys()])) {
      if (!same(state.stops.get(id), before.stops.get(id))) change.stops.add(id);
    }
    for (const [cid, p] of state.positions) {
      const b = before.positions.get(cid);
      if (!b || b.lat !== p.lat || b.lon !== p.lon) change.positions.add(cid);
    }
    if (!same(state.unplanned, before.unplanned)) change.unplanned = true;
    change.snapshot = true;
    return change;
  }

  function exists(sel) {
    if (sel.kind === "stop") return state.stops.has(sel.id) || state.unplanned.some((u) => u.stopId === sel.id);
    if (sel.kind === "courier") return state.couriers.has(sel.id);
    return false;
  }

  function ensureCourier(cid, route, change) {
    if (state.couriers.has(cid)) return;
    state.couriers.set(cid, { id: cid, name: `#${cid}`, colour: null, shiftStart: route?.start, shiftEnd: route?.end, routeId: route?.id ?? null });
    state.couriers.get(cid).colour = colourOf(cid);
    change.all = true;
  }

  function applyRoute(route, change) {
    if (!route || route.courierId == null) return;
    const held = state.routes.get(route.courierId);
    if (held && held.date === route.date && route.version < held.version) return; // old news
    ensureCourier(route.courierId, route, change);
    state.routes.set(route.courierId, route);
    const c = state.couriers.get(route.courierId);
    if (c) c.routeId = route.id;
    indexRoute(route, change, held);
  }

  function applyStop(stop, change) {
    const prev = state.stops.get(stop.stopId);
    if (!prev) return;
    const route = state.routes.get(prev.courierId);
    if (route) {
      const i = route.stops.findIndex((s) => s.stopId === stop.stopId);
      if (i >= 0) route.stops[i] = { ...route.stops[i], ...stop };
      // The next stop may move on: recompute the states of that route.
      indexRoute(route, change);
    } else {
      const entry = { ...prev, ...stop };
      entry.state = stopState(entry, false, state.now);
      state.stops.set(stop.stopId, entry);
      change.stops.add(stop.stopId);
    }
  }

  function applyPositions(list, change) {
    for (const p of Array.isArray(list) ? list : [list]) {
      if (!p || p.courierId == null) continue;
      state.positions.set(p.courierId, { ...state.positions.get(p.courierId), ...p });
      change.positions.add(p.courierId);
    }
  }

  function applyUnplanned(list, change) {
    if (!Array.isArray(list)) return;
    const known = new Map(state.unplanned.map((u) => [u.stopId, u]));
    for (const u of list) {
      if (u?.stopId == null || state.stops.has(u.stopId)) continue;
      known.set(u.stopId, { ...known.get(u.stopId), ...u });
    }
    state.unplanned = [...known.values()];
    change.unplanned = true;
  }

  function applyOrder(kind, data, change) {
    if (!data || data.orderId == null) return;
    const status = kind === "order.cancelled" ? "cancelled" : kind === "order.redirected" ? "redirected"
      : kind === "order.next_step" ? data.next || null : null;
    if (!status) return;
    for (const [id, s] of state.stops) {
      if (s.orderId !== data.orderId) continue;
      const entry = { ...s, orderStatus: status };
      entry.state = stopState(entry, entry.state === "next", state.now);
      state.stops.set(id, entry);
      change.stops.add(id);
    }
    if (kind === "order.cancelled") {
      const before = state.unplanned.length;
      state.unplanned = state.unplanned.filter((u) => u.orderId !== data.orderId);
      if (before !== state.unplanned.length) change.unplanned = true;
    }
  }

  /** Apply one stream event {kind, data, seq?}; unknown kinds change nothing. Returns the change. */
  function apply(event) {
    const { kind, data } = event || {};
    const change = emptyChange();
    switch (kind) {
      case "route.planned":
      case "route.updated":
        applyRoute(data, change);
        break;
      case "stop.updated":
        if (data?.stopId != null) applyStop(data, change);
        break;
      case "position":
      case "positions":
        applyPositions(data, change);
        break;
      case "order.cancelled":
      case "order.redirected":
      case "order.next_step":
        applyOrder(kind, data, change);
        break;
      case "plan.finished":
      case "plan.replanned":
      case "plan.not_applied":
        applyUnplanned(data?.unplannedStops, change);
        change.plan = kind;
        break;
      case "alert.raised":
      case "alert.updated": // a route's late stops changed (one stop_late per route)
      case "alert.acknowledged":
        if (data?.id != null) {
          state.alerts.set(data.id, { ...data });
          change.alerts = true;
        }
        break;
      case "courier.message":
        if (data) {
          state.messages = [...state.messages, data].slice(-200);
          change.messages = true;
          if (data.courierId != null) change.couriers.add(data.courierId);
        }
        break;
      default:
        if (isPickingEvent(kind)) {
          change.picking = true; // the warehouse's events: the Picking panel reads its figures again
          break;
        }
        if (!kind?.startsWith("order.")) return change; // unknown kinds: nothing
        change.orders = true;
        break;
    }
    if (event?.seq != null && (state.seq === null || event.seq > state.seq)) state.seq = event.seq;
    notify(change);
    return change;
  }

  function select(sel) {
    state.selection = sel && sel.id != null ? { kind: sel.kind, id: sel.id } : null;
    notify({ ...emptyChange(), selection: true });
  }

  function setAlerts(list) {
    state.alerts = new Map((list || []).map((a) => [a.id, { ...a }]));
    notify({ ...emptyChange(), alerts: true });
  }

  /** Names for couriers known only by id (a day without its courier list): [{id, name}]. */
  function nameCouriers(list) {
    let named = false;
    for (const c of list || []) {
      const held = state.couriers.get(c.id);
      if (held && c.name && held.name !== c.name) {
        held.name = c.name;
        named = true;
      }
    }
    if (named) notify({ ...emptyChange(), all: true });
  }

  function setConnection(c) {
    if (state.connection === c) return;
    state.connection = c;
    notify({ ...emptyChange(), connection: true });
  }

  /** Move the clock (local ISO time): stops may turn late. */
  function tick(nowIso) {
    state.now = nowIso;
    const change = emptyChange();
    for (const route of state.routes.values()) {
      const next = nextIndex(route);
      route.stops.forEach((s, i) => {
        const entry = state.stops.get(s.stopId);
        if (!entry) return;
        const st = stopState(entry, i === next, nowIso);
        if (st !== entry.state) {
          state.stops.set(s.stopId, { ...entry, state: st });
          change.stops.add(s.stopId);
        }
      });
    }
    change.tick = true;
    notify(change);
  }

  return {
    getState: () => state,
    subscribe(fn) { listeners.add(fn); return () => listeners.delete(fn); },
    load, apply, select, setAlerts, setConnection, tick, nameCouriers,
    colourOf,
  };
}

/** A route's stops that can still be moved (not done, failed or taken off), in riding order. */
export function movableStops(route) {
  return (route?.stops || []).filter((s) => OPEN.has(s.status));
}

/** The stop ids of ``route`` in a new order: ``stopId`` moved to just before ``beforeId`` (null: last). */
export function reorder(route, stopId, beforeId) {
  const ids = movableStops(route).map((s) => s.stopId).filter((id) => id !== stopId);
  const at = beforeId == null ? -1 : ids.indexOf(beforeId);
  if (at < 0) ids.push(stopId);
  else ids.splice(at, 0, stopId);
  return ids;
}

/** The desk's figures for a courier row: stops done and total, late count. */
export function courierSummary(state, courierId) {
  const route = state.routes.get(courierId);
  let done = 0, late = 0, total = 0;
  for (const s of route?.stops || []) {
    const entry = state.stops.get(s.stopId);
    total += 1;
    if (entry?.state === "done") done += 1;
    if (entry?.state === "late") late += 1;
  }
  return { done, late, total };
}
