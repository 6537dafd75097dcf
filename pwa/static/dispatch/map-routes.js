// The desk map's route lines: one per courier in their colour, along the streets
// (GET /hubs/{id}/routes.geojson when a day loads, GET /routes/{id}/geometry when a route
// changes), dashed straight hops until the streets come. Redrawing a line repaints every
// line it crosses on the canvas, so a line is drawn again only when its stops or its streets
// changed, not for new times.
import { request } from "../kit/api.js";

const L = () => window.L;
const LOAD_BUDGET_MS = 8; // of a frame's 16 for adding lines; the canvas draws them after
// Leaflet simplifies a line to this many pixels before drawing: the canvas rasterises far fewer
// segments (a street line has thousands of points; without a GPU that is most of a frame).
const SMOOTH = 3;
// Several loops a shift: each loop's line in the courier's colour with its own dashes (loop 1
// solid, loop 2 dashed, ...); the chips on the timeline name their loop the same way.
const LOOP_DASHES = [null, "12 8", "2 8", "16 6 2 6"];

export class RouteLines {
  /** ``colour(courierId)``; ``current()`` the desk's state now (a fetch may answer after a newer route);
   *  ``box`` the map's element, marked ``data-routes-ready`` once a day's lines are drawn. */
  constructor(layer, renderer, colour, current, box) {
    Object.assign(this, { layer, renderer, colour, current, box });
    this.lines = new Map(); // courierId → {routeId, version, stops, line, layer}
  }

  /** A whole day: every line, from one request. */
  async load(state) {
    this.layer.clearLayers();
    this.lines.clear();
    this.ready(false);
    if (!state.hub || !state.routes.size) return this.ready(true);
    let res = null;
    try {
      res = await request("GET", `/hubs/${state.hub.id}/routes.geojson?date=${encodeURIComponent(state.date || "")}`);
    } catch { /* fall back to straight lines */ }
    const features = res?.ok && Array.isArray(res.data?.features) ? res.data.features : [];
    const byRoute = new Map(features.map((f) => [f.properties?.routeId, f]));
    const todo = [...state.routes];
    const generation = (this.generation = (this.generation || 0) + 1);
    // A day's lines are thousands of points: a few lines per frame, so the map stays smooth.
    while (todo.length && generation === this.generation) {
      const t0 = performance.now();
      while (todo.length && performance.now() - t0 < LOAD_BUDGET_MS) {
        const [cid, route] = todo.shift();
        if (this.current()?.routes.get(cid)?.id !== route.id || this.lines.get(cid)?.routeId === route.id) continue;
        this.draw(cid, route, byRoute.get(route.id) || null);
      }
      if (todo.length) await new Promise((done) => requestAnimationFrame(done));
    }
    if (generation === this.generation) this.ready(true);
  }

  /** ``data-routes-ready`` on the map's container once a day's lines are all drawn (for tests and the bench). */
  ready(done) {
    this.box?.toggleAttribute("data-routes-ready", done);
  }

  /** The courier's route changed (or went). */
  async refresh(state, cid) {
    const route = state.routes.get(cid);
    const held = this.lines.get(cid);
    if (!route) {
      if (held) this.layer.removeLayer(held.layer);
      this.lines.delete(cid);
      return;
    }
    if (held && held.routeId === route.id && held.version === route.version) return;
    const sameStops = held?.stops === stopKey(route) && held.line !== null;
    if (sameStops) Object.assign(held, { routeId: route.id, version: route.version }); // new times: keep the line
    else this.draw(cid, route, null); // straight lines at once, the streets when they come
    try {
      const res = await request("GET", `/routes/${route.id}/geometry`);
      if (!res.ok || !res.data?.geometry || this.current()?.routes.get(cid)?.id !== route.id) return;
      if (sameStops && lineKey(res.data) === this.lines.get(cid)?.line) return; // the same streets
      this.draw(cid, route, res.data);
    } catch { /* keep the line drawn */ }
  }

  draw(cid, route, feature) {
    const held = this.lines.get(cid);
    if (held) this.layer.removeLayer(held.layer);
    const colour = this.colour(cid);
    const streets = feature?.geometry?.coordinates?.length > 0;
    const hub = this.current()?.hub;
    let pts;
    if (streets) {
      pts = feature.geometry.coordinates.map(([lon, lat]) => [lat, lon]);
    } else {
      pts = [];
      let loop = null;
      for (const s of route.stops) { // through the hub between two loops, as the streets' line goes
        if (hub && loop !== null && (s.loop ?? 1) !== loop) pts.push([hub.lat, hub.lon]);
        loop = s.loop ?? 1;
        pts.push([s.lat, s.lon]);
      }
      if (hub) {
        pts.unshift([hub.lat, hub.lon]);
        pts.push([hub.lat, hub.lon]);
      }
    }
    const parts = loopLines(pts, hub, loopCount(route)) || [pts];
    const layer = L().layerGroup(parts.map((part, k) => {
      const dash = parts.length > 1 ? LOOP_DASHES[k % LOOP_DASHES.length] : null;
      return streets
        ? L().polyline(part, { interactive: false, renderer: this.renderer, color: colour, weight: 4, opacity: 0.85, smoothFactor: SMOOTH, dashArray: dash })
        : L().polyline(part, { interactive: false, renderer: this.renderer, color: colour, weight: 3, opacity: 0.7, dashArray: dash || "6 6" });
    }));
    layer.addTo(this.layer);
    this.lines.set(cid, { routeId: route.id, version: route.version, stops: stopKey(route), line: streets ? lineKey(feature) : null, layer, loops: parts.length });
  }
}

/** How many loops a route rides: 1, or its last stop's loop when it has reloads. */
export function loopCount(route) {
  if (!route?.reloads?.length) return 1;
  return Math.max(1, ...(route.stops || []).map((s) => s.loop ?? 1));
}

/**
 * A route's line ([lat, lon] points from the hub back to the hub) cut into its loops at the
 * hub visits between them (the line passes through the hub's own point there), each part
 * starting and ending at the hub; null when the line has not exactly ``loops - 1`` such visits.
 */
export function loopLines(points, hub, loops) {
  if (!hub || loops < 2 || points.length < 3) return null;
  const at = (p) => Math.abs(p[0] - hub.lat) < 5e-7 && Math.abs(p[1] - hub.lon) < 5e-7;
  const cuts = [];
  for (let i = 1; i < points.length - 1; i += 1) if (at(points[i])) cuts.push(i);
  if (cuts.length !== loops - 1) return null;
  const parts = [];
  let from = 0;
  for (const c of [...cuts, points.length - 1]) {
    parts.push(points.slice(from, c + 1));
    from = c;
  }
  return parts;
}

/** A route's stops in riding order, with their loops: its line changes only when this does (or a closure). */
export function stopKey(route) {
  return (route.stops || []).map((s) => `${s.stopId}/${s.loop ?? 1}`).join(",");
}

/** A line's fingerprint (its length and a hash of its coordinates): a changed line from the same one, without keeping its text. */
export function lineKey(feature) {
  let h = 0x811c9dc5;
  const coords = feature.geometry.coordinates;
  for (const [lon, lat] of coords) {
    h = Math.imul(h ^ Math.round(lon * 1e6), 16777619);
    h = Math.imul(h ^ Math.round(lat * 1e6), 16777619);
  }
  return `${coords.length}:${h >>> 0}`;
}
