// The customer's tracking page: polls the order's status; no login, the link is the key.
const token = location.pathname.split("/").filter(Boolean)[1];
const $ = (id) => document.getElementById(id);
const HEADLINES = {
  received: ["Order received", "We will plan your delivery soon."],
  planned: ["Planned", "Your parcel is on a courier's route for today."],
  out_for_delivery: ["On its way", "Your courier is riding the route now."],
  delivered: ["Delivered", "Your parcel has been delivered. Thank you!"],
  failed: ["We missed you", "We could not deliver this time; we will tell you what happens next."],
};
let map = null, marker = null;

async function refresh() {
  const r = await fetch(`/track/${encodeURIComponent(token)}/status`);
  const body = await r.json().catch(() => ({}));
  if (!r.ok) {
    $("error").textContent = body.detail || "This tracking link does not work.";
    $("error").hidden = false;
    $("card").hidden = true;
    return false;
  }
  $("card").hidden = false;
  const [title, text] = HEADLINES[body.status] || [body.status, ""];
  $("headline").textContent = title;
  let detail = text;
  if (body.status === "out_for_delivery" && body.stopsAway !== null) {
    detail = body.stopsAway === 0 ? "You are the next stop." : `${body.stopsAway} stop${body.stopsAway === 1 ? "" : "s"} before yours.`;
  }
  $("detail").textContent = detail;
  $("reference").textContent = body.reference;
  $("window").textContent = `${body.window.start}–${body.window.end}`;
  $("eta").textContent = body.etaWindow ? `${body.etaWindow.start}–${body.etaWindow.end}` : "–";
  $("address").textContent = body.pickupPoint ? `Pickup point: ${body.pickupPoint.name}` : body.address;
  showCourier(body.courierPosition);
  $("notify").hidden = !("serviceWorker" in navigator && "PushManager" in window) || ["delivered", "failed"].includes(body.status);
  return !["delivered"].includes(body.status);
}

function showCourier(pos) {
  $("map").hidden = !pos;
  if (!pos || !window.L) return;
  if (!map) {
    map = L.map("map", { attributionControl: true }).setView([pos.lat, pos.lon], 16);
    fetch("/map/streets.geojson").then((r) => r.json()).then((g) =>
      L.geoJSON(g, { style: { color: "#888", weight: 2 } }).addTo(map));
    map.attributionControl.addAttribution("© OpenStreetMap contributors (ODbL)");
    marker = L.circleMarker([pos.lat, pos.lon], { radius: 10, color: "#0d4f3c", fillOpacity: 0.9 }).addTo(map);
  }
  marker.setLatLng([pos.lat, pos.lon]);
}

$("notify").addEventListener("click", async () => {
  try {
    const reg = await navigator.serviceWorker.register("/track-app/sw.js", { scope: "/track-app/" });
    const { publicKey } = await (await fetch("/push/key")).json();
    const key = Uint8Array.from(atob(publicKey.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
    const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    const r = await fetch(`/track/${encodeURIComponent(token)}/push`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(sub.toJSON()),
    });
    $("notify").textContent = r.ok ? "You will get a message on this device" : "Could not turn on messages";
  } catch (e) {
    $("notify").textContent = "Messages are not available in this browser";
  }
});

async function loop() {
  const again = await refresh().catch(() => true);
  if (again) setTimeout(loop, 20000);
}
loop();
