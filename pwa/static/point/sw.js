// Service worker of the pickup-point app (scope /point/): the app shell is pre-cached so the app
// opens on the shop's tablet with a weak connection; served from the cache and refreshed in the
// background. API requests are never touched: the point's parcels are the server's; scans
// made offline wait in the app's queue (IndexedDB) with their Idempotency-Key.

const VERSION = "v2"; // bump with every change of the shell
const SHELL_CACHE = `laadbak-point-shell-${VERSION}`;

const SHELL = [
  "/point/",
  "/point/app.css",
  "/point/app.js",
  "/point/model.js",
  "/point/returns.js",
  "/point/trailing-slash.js",
  "/point/messages/en.js",
  "/point/messages/nl.js",
  "/point/manifest.webmanifest",
  "/courier/icons/icon-192.png",
  "/kit/html.js",
  "/kit/api.js",
  "/kit/session.js",
  "/kit/queue.js",
  "/kit/i18n.js",
  "/kit/lang-switch.js",
  "/kit/scanner.js",
  "/kit/feedback.js",
  "/kit/tokens.css",
  "/kit/messages/en.js",
  "/kit/messages/nl.js",
  "/vendor/lit-html/lit-html.js",
];

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
      if (name.startsWith("laadbak-point-shell-") && name !== SHELL_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || url.search) return;
  if (req.mode === "navigate" && url.pathname.startsWith("/point/")) event.respondWith(shell("/point/", event));
  else if (SHELL.includes(url.pathname)) event.respondWith(shell(url.pathname, event));
});

async function shell(path, event) {
  const cache = await caches.open(SHELL_CACHE);
  const cached = await cache.match(path);
  const refresh = fetch(path, { cache: "no-cache" }).then(async (res) => {
    if (res.ok) await cache.put(path, res.clone());
    return res;
  });
  if (cached) {
    event.waitUntil(refresh.catch(() => {}));
    return cached;
  }
  return refresh;
}
