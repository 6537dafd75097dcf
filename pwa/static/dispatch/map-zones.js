// The hub's restricted zones on the desk's map (read-only): loading zones (venstertijden)
// in amber, pedestrian zones in blue; hovering names the zone and its windows.
import { request } from "../kit/api.js";

const STYLE = {
  loading: { color: "#b26a00", weight: 2, fillOpacity: 0.08, dashArray: "6 4" },
  pedestrian: { color: "#1f5fa8", weight: 2, fillOpacity: 0.08, dashArray: "2 4" },
};

/** The windows as "mo–fr 07:00–11:00; 18:00–20:00" ("–" for none). */
export function windowsText(windows) {
  if (!windows?.length) return "–";
  return windows
    .map((w) => (w.days && w.days.length < 7 ? `${w.days.join(",")} ` : "") + `${w.start}–${w.end}`)
    .join("; ");
}

/** Draw the hub's zones into ``layer`` (cleared first); ``t`` translates the labels. */
export async function drawZones(layer, hubId, t) {
  const L = window.L;
  let res = null;
  try {
    res = await request("GET", `/hubs/${hubId}/zones`);
  } catch { return; /* the map works without zones */ }
  layer.clearLayers();
  if (!res?.ok || !Array.isArray(res.data)) return;
  for (const z of res.data) {
    const label = `${z.name} · ${t(`zone.${z.kind}`)} ${windowsText(z.windows)}`;
    L.polygon(z.polygon, { ...(STYLE[z.kind] || STYLE.loading), interactive: true }).bindTooltip(label).addTo(layer);
  }
}
