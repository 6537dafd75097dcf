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
  $("address").textContent = body.pickupPoint
    ? `Pickup point: ${body.pickupPoint.name}${body.pickupCode ? ` · pickup code ${body.pickupCode}` : ""}`
    : body.address;
  showCourier(body.courierPosition);
  showChoices(body.redirectOptions || []);
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

// --- Redirect: the choices the server offers now; each one is a ready request body.
let shown = "";
function label(o) {
  if (o.kind === "window") return [`${o.slot[0].toUpperCase()}${o.slot.slice(1)}, ${o.start}–${o.end}`, "Same place, another time"];
  if (o.kind === "pickup_point") {
    const close = o.closes === "24:00" ? "open all day" : `open until ${o.closes}`;
    return [o.name, [o.address, `${o.distanceM} m away`, `ready from about ${o.start}`, close].filter(Boolean).join(" · ")];
  }
  return ["Another address", `Delivered ${o.start}–${o.end}`];
}

function showChoices(options) {
  const key = JSON.stringify(options);
  if (key === shown) return; // keep what the customer is choosing while the page refreshes
  shown = key;
  $("redirect").hidden = options.length === 0;
  const before = document.querySelector('input[name="choice"]:checked')?.value;
  const box = $("choices");
  box.replaceChildren();
  options.forEach((o, i) => {
    const row = document.createElement("label");
    row.className = "choice";
    const input = Object.assign(document.createElement("input"), { type: "radio", name: "choice", value: String(i), required: true });
    input.dataset.option = JSON.stringify(o);
    input.checked = before === String(i);
    const [title, sub] = label(o);
    const text = document.createElement("span");
    text.append(title, Object.assign(document.createElement("small"), { textContent: sub }));
    row.append(input, text);
    box.append(row);
  });
  toggleAddress();
}

function chosen() {
  const input = document.querySelector('input[name="choice"]:checked');
  return input ? JSON.parse(input.dataset.option) : null;
}

function toggleAddress() {
  const o = chosen();
  $("address-field").hidden = !o || o.kind !== "address";
  $("new-address").required = !$("address-field").hidden;
}
$("choices").addEventListener("change", toggleAddress);

let pending = null; // {body, key}: a retry of the same choice reuses its key, so it cannot apply twice
function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

function say(text, bad) {
  $("redirect-result").textContent = text;
  $("redirect-result").className = bad ? "result bad" : "result";
  $("redirect-result").hidden = false;
}

$("redirect-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const o = chosen();
  if (!o) return;
  const body = o.kind === "window" ? { kind: "window", window: o.window }
    : o.kind === "pickup_point" ? { kind: "pickup_point", pickupPointId: o.pickupPointId }
    : { kind: "address", address: $("new-address").value.trim() };
  const text = JSON.stringify(body);
  if (!pending || pending.text !== text) pending = { text, key: newKey() };
  $("redirect-send").disabled = true;
  say("Checking with our couriers…", false);
  try {
    const r = await fetch(`/track/${encodeURIComponent(token)}/redirect`, {
      method: "POST", headers: { "content-type": "application/json", "idempotency-key": pending.key }, body: text,
    });
    const answer = await r.json().catch(() => ({}));
    pending = null; // answered: the next attempt is a new choice
    if (r.ok) {
      const where = answer.pickupPoint ? `to ${answer.pickupPoint.name} (pickup code ${answer.pickupCode})`
        : answer.kind === "address" ? `to ${answer.address}` : "";
      say(`Done: we bring your parcel ${where} between ${answer.window.start} and ${answer.window.end}.`.replace("  ", " "), false);
      shown = "";
      await refresh().catch(() => {});
    } else {
      let detail = answer.detail || "That did not work; please try again.";
      if (answer.suggestions?.length) detail += ` Did you mean: ${answer.suggestions.slice(0, 3).join("; ")}?`;
      say(detail, true);
      await refresh().catch(() => {});
      if (Array.isArray(answer.redirectOptions)) showChoices(answer.redirectOptions); // the alternatives to this one
    }
  } catch (e) {
    say("No connection; your choice was not sent yet. Try again — it will not be applied twice.", true);
  } finally {
    $("redirect-send").disabled = false;
  }
});

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
