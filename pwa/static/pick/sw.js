// Service worker of the picker app (scope /pick/): the app shell is pre-cached so the app
// opens on a handheld with a weak connection; served from the cache and refreshed in the
// background. API requests are never touched: the pick state is the server's.

const VERSION = "v4"; // bump with every change of the shell
const SHELL_CACHE = `laadbak-pick-shell-${VERSION}`;

const SHELL = [
  "/pick/",
  "/pick/app.css",
  "/pick/app.js",
  "/pick/model.js",
  "/pick/live.js",
  "/pick/live-model.js",
  "/pick/pack.js",
  "/pick/pack-model.js",
  "/pick/messages/pack-en.js",
  "/pick/messages/pack-nl.js",
  "/pick/sort.js",
  "/pick/sort-model.js",
  "/pick/messages/sort-en.js",
  "/pick/messages/sort-nl.js",
  "/pick/trailing-slash.js",
  "/pick/messages/en.js",
  "/pick/messages/nl.js",
  "/pick/manifest.webmanifest",
  "/courier/icons/icon-192.png",
  "/kit/html.js",
  "/kit/api.js",
  "/kit/session.js",
  "/kit/queue.js",
  "/kit/i18n.js",
  "/kit/lang-switch.js",
  "/kit/scanner.js",
  "/kit/stream.js",
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
      if (name.startsWith("laadbak-pick-shell-") && name !== SHELL_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || url.search) return;
  if (req.mode === "navigate" && url.pathname.startsWith("/pick/")) event.respondWith(shell("/pick/", event));
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
