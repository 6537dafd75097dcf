// The desk's map: the street network (no tile server), hub, shops and pickup points,
// each courier's route line in their colour, the stops as canvas circles coloured by
// state (grid clusters when zoomed out), and one marker per courier that moves alone.
// Updates are incremental: a position moves one marker, a stop restyles one circle.
import { drawArea } from "./map-draw.js";
import { drawZones } from "./map-zones.js";
import { RouteLines } from "./map-routes.js";

const ATTRIBUTION = "© OpenStreetMap contributors (ODbL)";
const CLUSTER_BELOW = 15;   // zoom levels below this show grid clusters
const CELL_PX = 56;         // cluster grid cell
export const STATE_FILL = {
  done: "#6b7280", failed: "#b3261e", redirected: "#7c3aed", late: "#c2410c", next: "#1d4f8f", planned: "#ffffff",
};
const WORST = ["late", "failed", "next", "planned", "redirected", "done"];

const L = () => window.L;
const fmt = (n) => Number(n).toFixed(6);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
};
const initials = (name) => String(name || "?").split(/\s+/).filter(Boolean).map((w) => w[0]).join("").slice(0, 2).toUpperCase();

export class DeskMap {
  constructor(container, { t, onSelect }) {
    Object.assign(this, { container, t, onSelect });
    this.map = null;
    this.stopMarkers = new Map();   // stopId → circleMarker (in this.stopsLayer)
    this.courierMarkers = new Map(); // courierId → marker
    this.clusterDirty = true;
    this.state = null;
  }

  init() {
    if (this.map || typeof window.L === "undefined") return;
    const map = L().map(this.container, { preferCanvas: true, zoomSnap: 0.5, keyboard: true });
    map.attributionControl.setPrefix(false);
    map.attributionControl.addAttribution(ATTRIBUTION);
    map.setView([52.37, 4.9], 14);
    this.map = map;
    // The desk's panels change the map's size: keep Leaflet's idea of it right.
    // Until the dispatcher moves the map, it keeps showing the whole day.
    if (typeof ResizeObserver !== "undefined") {
      new ResizeObserver(() => {
        map.invalidateSize();
        if (!this.userMoved && this.state) this.fit();
      }).observe(this.container);
    }
    map.on("dragstart", () => { this.userMoved = true; });
    this.container.addEventListener("wheel", () => { this.userMoved = true; }, { passive: true });
    // Three canvases: the streets never redraw when a stop or a route changes, nor routes for a stop.
    map.createPane("streets").style.zIndex = "350";
    map.createPane("routes").style.zIndex = "390";
    this.streetCanvas = L().canvas({ padding: 0.1, pane: "streets" });
    this.routeCanvas = L().canvas({ padding: 0.1, pane: "routes" });
    this.canvas = L().canvas({ padding: 0.1 });
    this.placesLayer = L().layerGroup().addTo(map);
    this.routesLayer = L().layerGroup().addTo(map);
    this.routes = new RouteLines(this.routesLayer, this.routeCanvas, (cid) => this.colour(cid), () => this.state, this.container);
    this.trailLayer = L().layerGroup().addTo(map);
    this.zonesLayer = L().layerGroup().addTo(map);
    this.stopsLayer = L().layerGroup();
    this.clusterLayer = L().layerGroup();
    this.courierLayer = L().layerGroup().addTo(map);
    this.selRing = null;
    map.on("zoomend", () => this.syncMode());
    map.on("moveend", () => { if (this.clustered) this.drawClusters(); });
    this.loadStreets();
    this.syncMode();
  }

  async loadStreets() {
    try {
      const res = await fetch("/map/streets.geojson", { credentials: "same-origin" });
      if (!res.ok) return;
      const data = await res.json();
      this.streets = L().geoJSON(data, { interactive: false, renderer: this.streetCanvas, style: streetStyle }).addTo(this.map);
      if (!this.fitted) this.fit();
    } catch { /* the map works without streets */ }
  }

  get clustered() {
    return this.map && this.map.getZoom() < CLUSTER_BELOW;
  }

  syncMode() {
    if (!this.map) return;
    if (this.clustered) {
      this.map.removeLayer(this.stopsLayer);
      this.clusterLayer.addTo(this.map);
      this.drawClusters();
    } else {
      this.map.removeLayer(this.clusterLayer);
      this.stopsLayer.addTo(this.map);
    }
  }

  /** A whole new day: places, every route line, every stop and courier. */
  load(state) {
    this.init();
    if (!this.map) return;
    this.map.invalidateSize();
    this.state = state;
    this.drawPlaces(state);
    if (state.hub) drawZones(this.zonesLayer, state.hub.id, this.t);
    for (const m of this.stopMarkers.values()) this.stopsLayer.removeLayer(m);
    this.stopMarkers.clear();
    for (const id of state.stops.keys()) this.updateStop(id);
    this.routes.load(state);
    for (const id of state.couriers.keys()) this.updateCourier(id);
    this.clusterDirty = true;
    if (this.clustered) this.drawClusters();
    this.drawSelection();
    if (!this.fitted) this.fit();
  }

  /** Apply one batch of changes (from the store's subscribers, merged per animation frame). */
  update(state, change) {
    if (!this.map) return;
    this.state = state;
    for (const id of change.positions) this.updateCourier(id);
    for (const id of change.stops) this.updateStop(id);
    for (const cid of change.routes) {
      this.routes.refresh(state, cid);
      this.updateCourier(cid);
    }
    if (change.lang) {
      this.drawPlaces(state);
      this.clusterDirty = true;
    }
    if (change.stops.size) this.clusterDirty = true;
    if (this.clustered && this.clusterDirty) this.clustersSoon();
    if (change.selection || change.stops.size) this.drawSelection();
  }

  drawPlaces(state) {
    this.placesLayer.clearLayers();
    const place = (p, cls, label, text) => {
      if (p?.lat == null) return;
      const icon = L().divIcon({ className: `place ${cls}`, html: el("span", null, text), iconSize: [30, 30], iconAnchor: [15, 15] });
      L().marker([p.lat, p.lon], { icon, title: `${label}: ${p.name}`, keyboard: false }).addTo(this.placesLayer);
    };
    place(state.hub, "place-hub", this.t("map.hub"), "H");
    for (const s of state.shops || []) place(s, "place-shop", this.t("map.shop"), "S");
    for (const p of state.pickupPoints || []) place(p, "place-pp", this.t("map.pickupPoint"), "P");
  }

  colour(cid) {
    return this.state?.couriers.get(cid)?.colour || "#4d5753";
  }

  updateStop(id) {
    const s = this.state.stops.get(id);
    let m = this.stopMarkers.get(id);
    if (!s) {
      if (m) this.stopsLayer.removeLayer(m);
      this.stopMarkers.delete(id);
      return;
    }
    const style = {
      radius: s.state === "next" ? 8 : 6, weight: 3, color: this.colour(s.courierId),
      fillColor: STATE_FILL[s.state] || "#ffffff", fillOpacity: 1, renderer: this.canvas,
    };
    if (!m) {
      m = L().circleMarker([s.lat, s.lon], style);
      m.on("click", () => this.onSelect({ kind: "stop", id }));
      this.stopMarkers.set(id, m);
      this.stopsLayer.addLayer(m);
    } else {
      const ll = m.getLatLng();
      if (ll.lat !== s.lat || ll.lng !== s.lon) m.setLatLng([s.lat, s.lon]);
      m.setStyle(style);
      m.setRadius(style.radius);
    }
  }

  /** Clusters again within a second (a busy day changes stops many times a second). */
  clustersSoon() {
    if (this.clusterTimer) return;
    this.clusterTimer = setTimeout(() => {
      this.clusterTimer = null;
      if (this.clustered && this.clusterDirty) this.drawClusters();
    }, 800);
  }

  drawClusters() {
    if (!this.map || !this.state) return;
    this.clusterDirty = false;
    this.clusterLayer.clearLayers();
    const zoom = this.map.getZoom();
    const bounds = this.map.getBounds().pad(0.2);
    const cells = new Map();
    for (const s of this.state.stops.values()) {
      if (!bounds.contains([s.lat, s.lon])) continue;
      const p = this.map.project([s.lat, s.lon], zoom);
      const key = `${Math.floor(p.x / CELL_PX)}:${Math.floor(p.y / CELL_PX)}`;
      let c = cells.get(key);
      if (!c) cells.set(key, (c = { n: 0, lat: 0, lon: 0, worst: "done", one: s }));
      c.n += 1;
      c.lat += s.lat;
      c.lon += s.lon;
      if (WORST.indexOf(s.state) < WORST.indexOf(c.worst)) c.worst = s.state;
    }
    for (const c of cells.values()) {
      const ll = [c.lat / c.n, c.lon / c.n];
      if (c.n === 1) {
        const s = c.one;
        L().circleMarker([s.lat, s.lon], {
          radius: 6, weight: 3, color: this.colour(s.courierId), fillColor: STATE_FILL[s.state], fillOpacity: 1, renderer: this.canvas,
        }).on("click", () => this.onSelect({ kind: "stop", id: s.stopId })).addTo(this.clusterLayer);
        continue;
      }
      const size = c.n >= 100 ? 56 : 48; // a touch target
      const icon = L().divIcon({
        className: `cluster st-${c.worst}`, html: el("span", null, String(c.n)), iconSize: [size, size], iconAnchor: [size / 2, size / 2],
      });
      L().marker(ll, { icon, keyboard: false, title: this.t("map.cluster", { n: c.n }) })
        .on("click", () => this.map.setView(ll, Math.min(CLUSTER_BELOW, zoom + 2)))
        .addTo(this.clusterLayer);
    }
  }

  drawSelection() {
    const sel = this.state?.selection;
    const s = sel?.kind === "stop" ? this.state.stops.get(sel.id) || this.state.unplanned.find((u) => u.stopId === sel.id) : null;
    if (!s) {
      if (this.selRing) this.map.removeLayer(this.selRing);
      this.selRing = null;
      return;
    }
    if (!this.selRing) {
      this.selRing = L().circleMarker([s.lat, s.lon], { radius: 14, weight: 3, color: "#1a1f1d", fill: false, interactive: false, renderer: this.canvas }).addTo(this.map);
    } else this.selRing.setLatLng([s.lat, s.lon]);
  }

  updateCourier(cid) {
    const pos = this.state.positions.get(cid);
    const c = this.state.couriers.get(cid);
    let m = this.courierMarkers.get(cid);
    if (!pos || pos.lat == null) return;
    const ll = [pos.lat, pos.lon];
    if (!m) {
      const inner = el("span", "courier-dot", initials(c?.name));
      const icon = L().divIcon({ className: "courier-pin", html: inner, iconSize: [48, 48], iconAnchor: [24, 24] });
      m = L().marker(ll, { icon, title: c?.name || `#${cid}`, keyboard: true, zIndexOffset: 1000, riseOnHover: true });
      m.on("click", () => this.onSelect({ kind: "courier", id: cid }));
      m.on("keypress", (e) => { if (e.originalEvent?.key === "Enter") this.onSelect({ kind: "courier", id: cid }); });
      m.on("add", () => this.decorate(cid, m));
      this.courierMarkers.set(cid, m);
      m.addTo(this.courierLayer);
    } else {
      m.setLatLng(ll);
    }
    this.decorate(cid, m);
  }

  decorate(cid, m) {
    const e = m.getElement();
    const pos = this.state.positions.get(cid);
    if (!e || !pos) return;
    e.dataset.courierId = String(cid);
    e.dataset.pos = `${fmt(pos.lat)},${fmt(pos.lon)}`;
    const name = this.state.couriers.get(cid)?.name || `#${cid}`;
    const dot = e.firstElementChild;
    if (dot && dot.textContent !== initials(name)) dot.textContent = initials(name);
    e.setAttribute("aria-label", `${initials(name)}: ${name}`); // the visible letters first
    if (dot) dot.style.backgroundColor = this.colour(cid);
  }

  // ------------------------------------------------------------ the desk's map API (contract)

  fit() {
    if (!this.map) return;
    const pts = [];
    if (this.state?.hub) pts.push([this.state.hub.lat, this.state.hub.lon]);
    for (const s of this.state?.stops.values() || []) pts.push([s.lat, s.lon]);
    if (pts.length > 1) {
      this.map.fitBounds(L().latLngBounds(pts).pad(0.08), { maxZoom: 16 });
      this.fitted = true;
    } else if (pts.length === 1) {
      this.map.setView(pts[0], 15);
    } else if (this.streets) {
      const b = this.streets.getBounds();
      if (b.isValid()) this.map.fitBounds(b);
    }
  }

  /** Pan just enough to show a place that is off the map (the zoom stays). */
  reveal(lat, lon) {
    if (this.map && lat != null && !this.map.getBounds().pad(-0.05).contains([lat, lon])) this.map.panTo([lat, lon]);
  }

  focus(lat, lon) {
    if (this.map && lat != null) this.map.setView([lat, lon], Math.max(this.map.getZoom(), 16));
  }

  showTrail(courierId, points) {
    this.clearTrail();
    if (!this.map || !points?.length) return;
    L().polyline(points.map((p) => [p[0], p[1]]), {
      interactive: false, color: this.colour(courierId), weight: 5, opacity: 0.6, dashArray: "2 8", lineCap: "round",
    }).addTo(this.trailLayer);
  }

  clearTrail() {
    this.trailLayer?.clearLayers();
  }

  flash(lat, lon, text) {
    if (!this.map || lat == null) return;
    const tip = L().tooltip({ permanent: true, direction: "top", className: "map-flash", offset: [0, -10] })
      .setLatLng([lat, lon]).setContent(el("span", null, text)).addTo(this.map);
    setTimeout(() => this.map.removeLayer(tip), 6000);
  }

  /** The user clicks corners; Enter or a double click ends (≥ 3 corners), Esc cancels → null. */
  drawArea() {
    return this.map ? drawArea(this.map, this.container, this.t("map.areaHint")) : Promise.resolve(null);
  }

  /** The contract's desk.map object. */
  api() {
    return {
      showTrail: (cid, pts) => this.showTrail(cid, pts),
      clearTrail: () => this.clearTrail(),
      drawArea: () => this.drawArea(),
      focus: (lat, lon) => this.focus(lat, lon),
      flash: (lat, lon, text) => this.flash(lat, lon, text),
    };
  }
}

function streetStyle(feature) {
  const kind = feature?.properties?.highway || "";
  const major = /primary|secondary|tertiary|trunk/.test(kind);
  return { color: feature?.properties?.pushed ? "#a3a3a3" : "#9ca3af", weight: major ? 3 : 1.5, opacity: 0.8 };
}

