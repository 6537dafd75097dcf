// The route map: the project's own street network (GeoJSON, no tile server),
// the stops as numbered markers, the hub, and the courier's own position.

import { html, render } from "../kit/html.js";
import { statusText } from "./util.js";
import { t, i18n } from "./store.js";

/** A popup's content as DOM built from an escaping template (Leaflet would parse a string as HTML). */
function popup(tpl) {
  const el = document.createElement("div");
  render(tpl, el);
  return el;
}

const ATTRIBUTION = "© OpenStreetMap contributors (ODbL)";

export class RouteMap {
  constructor(el) {
    this.el = el;
    this.map = null;
    this.streets = null;
    this.stopsLayer = null;
    this.me = null;
    this.hub = null;
    this.fitted = false;
    this.streetsState = "idle";
    this.lastStops = [];
  }

  get available() {
    return typeof window.L !== "undefined";
  }

  ensure() {
    if (this.map || !this.available) return;
    const L = window.L;
    this.map = L.map(this.el, {
      preferCanvas: true,
      zoomControl: true,
      attributionControl: true,
      zoomSnap: 0.5,
    });
    this.map.attributionControl.setPrefix(false);
    this.map.attributionControl.addAttribution(ATTRIBUTION);
    this.map.setView([60.1675, 24.9427], 15);
    this.stopsLayer = L.layerGroup().addTo(this.map);
    this.loadStreets();
  }

  async loadStreets() {
    if (this.streetsState === "loading" || this.streetsState === "done") return;
    this.streetsState = "loading";
    try {
      const res = await fetch("/map/streets.geojson", { credentials: "same-origin" });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const data = await res.json();
      const L = window.L;
      this.streets = L.geoJSON(data, {
        interactive: false,
        style: (f) => streetStyle(f),
      }).addTo(this.map);
      this.streets.bringToBack();
      this.streetsState = "done";
      if (!this.fitted) this.fit();
    } catch {
      this.streetsState = "failed"; // tried again the next time the map is shown
    }
  }

  /** Call when the map's container becomes visible. */
  shown() {
    this.ensure();
    if (!this.map) return;
    this.map.invalidateSize();
    if (this.pending) this.update(...this.pending);
    if (this.position && !this.me) this.setPosition(this.position);
    if (this.streetsState === "failed") {
      this.streetsState = "idle";
      this.loadStreets();
    }
    if (!this.fitted) this.fit();
  }

  update(day, view) {
    this.pending = [day, view];
    if (!this.map) return;
    const L = window.L;
    this.stopsLayer.clearLayers();
    const stops = view?.route?.stops || [];
    this.lastStops = stops;
    if (day?.hub) {
      L.marker([day.hub.lat, day.hub.lon], {
        icon: L.divIcon({ className: "pin hub-pin", html: "H", iconSize: [34, 34], iconAnchor: [17, 17] }),
        title: day.hub.name,
        keyboard: false,
      }).bindPopup(popup(html`<strong>${day.hub.name}</strong><br>${t("map.hub")}`)).addTo(this.stopsLayer);
    }
    const nextId = stops.find((s) => s.status === "planned" || s.status === "arrived")?.stopId;
    stops.forEach((s, i) => {
      const cls = `pin stop-pin st-${s.status}${s.stopId === nextId ? " next" : ""}${s.late ? " late" : ""}`;
      L.marker([s.lat, s.lon], {
        icon: L.divIcon({ className: cls, html: String(i + 1), iconSize: [34, 34], iconAnchor: [17, 17] }),
        title: `${i + 1}. ${s.address}`,
        zIndexOffset: s.stopId === nextId ? 1000 : 0,
      })
        .bindPopup(popup(html`<strong>${i + 1}. ${s.address}</strong><br>${s.customerName || s.shopName || ""}<br>
          ${t("route.eta")} ${s.eta ? i18n.clock(s.eta) : "–"} · ${statusText(s.status, t)}<br>
          <a href="#/stop/${s.stopId}">${t("route.openStop")}</a>`))
        .addTo(this.stopsLayer);
    });
    if (!this.fitted && stops.length) this.fit();
  }

  setPosition(pos) {
    this.position = pos;
    if (!this.map || !pos) return;
    const L = window.L;
    const ll = [pos.lat, pos.lon];
    if (!this.me) {
      this.me = L.layerGroup().addTo(this.map);
      this.meAccuracy = L.circle(ll, { radius: pos.accuracy || 20, color: "#1557d6", weight: 1, fillOpacity: 0.12 });
      this.meDot = L.circleMarker(ll, { radius: 9, color: "#ffffff", weight: 3, fillColor: "#1557d6", fillOpacity: 1 });
      this.meAccuracy.addTo(this.me);
      this.meDot.addTo(this.me).bindTooltip(t("map.you"));
    } else {
      this.meAccuracy.setLatLng(ll).setRadius(pos.accuracy || 20);
      this.meDot.setLatLng(ll);
    }
  }

  centreOnMe(pos) {
    if (this.map && pos) this.map.setView([pos.lat, pos.lon], Math.max(this.map.getZoom(), 16));
  }

  fit() {
    if (!this.map) return;
    const L = window.L;
    const pts = this.lastStops.map((s) => [s.lat, s.lon]);
    if (pts.length) {
      this.map.fitBounds(L.latLngBounds(pts).pad(0.15), { maxZoom: 17 });
      this.fitted = true;
    } else if (this.streets) {
      const b = this.streets.getBounds();
      if (b.isValid()) this.map.fitBounds(b);
    }
  }
}

function streetStyle(feature) {
  const props = feature?.properties || {};
  const kind = props.highway || "";
  const major = /primary|secondary|tertiary|trunk/.test(kind);
  const cycle = /cycleway/.test(kind);
  if (props.pushed) {
    // Walk the bike here (pedestrian zones, footways): drawn dashed.
    return { color: "#8a8a8a", weight: 2, opacity: 0.9, dashArray: "4 4" };
  }
  return {
    color: cycle ? "#2f7d5b" : "#4a4a4a",
    weight: major ? 4 : cycle ? 2.5 : 2.5,
    opacity: 0.9,
  };
}
