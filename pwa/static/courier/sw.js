// Service worker of the courier app (scope /courier/).
// - The app shell (html, js, css, icons, vendored Leaflet) is pre-cached, so the
//   app opens offline after the first visit; it is served from the cache and
//   refreshed in the background (stale-while-revalidate).
// - API GETs go to the network first and fall back to the last answer.
// - Anything that is not a GET (actions, login, photo uploads) is never touched.

const VERSION = "v13";  // bump with every change of the shell, so phones take the new one
const SHELL_CACHE = `laadbak-courier-shell-${VERSION}`;
const API_CACHE = "laadbak-api-v1";

const SHELL = [
  "/courier/",
  "/courier/app.css",
  "/courier/app.js",
  "/courier/trailing-slash.js",
  "/courier/util.js",
  "/courier/inbox.js",
  "/courier/loops.js",
  "/courier/locker.js",
  "/courier/model.js",
  "/courier/store.js",
  "/courier/sync.js",
  "/courier/session.js",
  "/courier/devices.js",
  "/courier/dialog.js",
  "/courier/views.js",
  "/courier/task.js",
  "/courier/actions.js",
  "/courier/messages/en.js",
  "/courier/messages/nl.js",
  "/courier/scanner.js",
  "/courier/signature.js",
  "/courier/device.js",
  "/courier/map.js",
  "/courier/manifest.webmanifest",
  "/courier/icons/icon-192.png",
  "/courier/icons/icon-512.png",
  "/kit/html.js",
  "/kit/stream.js",
  "/kit/queue.js",
  "/kit/api.js",
  "/kit/session.js",
  "/kit/push.js",
  "/kit/i18n.js",
  "/kit/lang-switch.js",
  "/kit/tokens.css",
  "/kit/messages/en.js",
  "/kit/messages/nl.js",
  "/vendor/lit-html/lit-html.js",
  "/vendor/leaflet/leaflet.js",
  "/vendor/leaflet/leaflet.css",
  "/vendor/leaflet/images/marker-icon.png",
  "/vendor/leaflet/images/marker-icon-2x.png",
  "/vendor/leaflet/images/marker-shadow.png",
  "/vendor/leaflet/images/layers.png",
  "/vendor/leaflet/images/layers-2x.png",
];

// Answers worth keeping for an offline start: the day, who I am, the street map.
const API_GETS = [/^\/courier\/today$/, /^\/auth\/me$/, /^\/map\/streets\.geojson$/];

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    await cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" })));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("laadbak-courier-shell-") && name !== SHELL_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return; // never cache or delay actions
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/ws/")) return;

  if (req.mode === "navigate" && url.pathname.startsWith("/courier/")) {
    event.respondWith(shell("/courier/", event));
    return;
  }
  if (SHELL.includes(url.pathname) && !url.search) {
    event.respondWith(shell(url.pathname, event));
    return;
  }
  if (API_GETS.some((re) => re.test(url.pathname))) {
    event.respondWith(networkFirst(req));
  }
});

async function shell(path, event) {
  const cache = await caches.open(SHELL_CACHE);
  const cached = await cache.match(path);
  const refresh = fetch(path, { cache: "no-cache" })
    .then(async (res) => {
      if (res.ok) await cache.put(path, res.clone());
      return res;
    });
  if (cached) {
    event.waitUntil(refresh.catch(() => {}));
    return cached;
  }
  return refresh;
}

async function networkFirst(req) {
  const cache = await caches.open(API_CACHE);
  try {
    const res = await fetch(req);
    if (res.ok) await cache.put(req, res.clone());
    else if (res.status === 401) await cache.delete(req);
    return res;
  } catch (err) {
    const cached = await cache.match(req);
    if (cached) return cached;
    throw err;
  }
}

// Web Push (docs/courier-protocol.md): a message from dispatch, or a route change, while the
// app is closed. The notification shows the text as text; a tap opens the app.
self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch { data = { body: event.data?.text() || "" }; }
  event.waitUntil(self.registration.showNotification(data.title || "Laadbak", {
    body: data.body || "", tag: data.type === "courier.message" ? `message-${data.messageId}` : data.type,
    data: { url: data.url || "/courier/" },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = event.notification.data?.url || "/courier/";
  event.waitUntil((async () => {
    for (const client of await self.clients.matchAll({ type: "window" })) {
      if (client.url.includes("/courier/") && "focus" in client) return client.focus();
    }
    return self.clients.openWindow(url);
  })());
});
