// Several loops a shift: when the next thing to do is riding back to the hub to reload,
// and what to load for which loop. Pure: the route and loading list as the server sends them.
import { isOpen } from "./util.js";

const loopOf = (x) => x?.loop || 1;

/** The loop the courier rides now (or will start): the loop of the next open stop, else the last. */
export function currentLoop(stops) {
  const next = (stops || []).find(isOpen);
  if (next) return loopOf(next);
  return (stops || []).reduce((m, s) => Math.max(m, loopOf(s)), 1);
}

/**
 * The reload ahead, if the next open stop starts a new loop: back to the hub first.
 * ``{ loop, reload, items }``: the loop to load, the route's reload visit for it (times),
 * and that loop's parcels of the loading list (load order); null when the next stop is on
 * the loop being ridden (or is the very first: that loop is loaded before the shift).
 */
export function reloadAhead(route, loading) {
  const stops = route?.stops || [];
  const i = stops.findIndex(isOpen);
  if (i <= 0) return null;
  const loop = loopOf(stops[i]);
  if (loop <= loopOf(stops[i - 1])) return null;
  const reload = (route.reloads || []).find((r) => r.loop === loop) || null;
  const items = (loading || []).filter((l) => loopOf(l) === loop).sort((a, b) => a.loadOrder - b.loadOrder);
  return { loop, reload, items };
}

/** The loading list's parcels still to load for ``loop``. */
export function toLoadFor(loading, loop) {
  return (loading || []).filter((l) => loopOf(l) === loop && !l.loaded).length;
}

/** The loading list in loops: ``[{ loop, items }]``, loops in order, each by load order. */
export function byLoop(loading) {
  const loops = new Map();
  for (const l of loading || []) {
    if (!loops.has(loopOf(l))) loops.set(loopOf(l), []);
    loops.get(loopOf(l)).push(l);
  }
  return [...loops.keys()].sort((a, b) => a - b)
    .map((loop) => ({ loop, items: loops.get(loop).sort((a, b) => a.loadOrder - b.loadOrder) }));
}
