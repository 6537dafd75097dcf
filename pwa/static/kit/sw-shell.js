// The worker apps' service worker, one for all (a classic script: each app's sw.js loads it with
// importScripts and calls laadbakShell). The app shell is pre-cached so the app opens with a weak
// connection, served from the cache and refreshed in the background. API requests are never
// touched: the state is the server's, and writes made offline wait in the kit's queue.

/* exported laadbakShell */
function laadbakShell({ app, version, shell }) {
  const prefix = `laadbak-${app}-shell-`;
  const cacheName = prefix + version;
  const root = `/${app}/`;

  self.addEventListener("install", (event) => {
    event.waitUntil((async () => {
      const cache = await caches.open(cacheName);
      await cache.addAll(shell.map((url) => new Request(url, { cache: "reload" })));
      await self.skipWaiting();
    })());
  });

  self.addEventListener("activate", (event) => {
    event.waitUntil((async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(prefix) && name !== cacheName) await caches.delete(name);
      }
      await self.clients.claim();
    })());
  });

  self.addEventListener("fetch", (event) => {
    const req = event.request;
    if (req.method !== "GET") return;
    const url = new URL(req.url);
    if (url.origin !== self.location.origin || url.search) return;
    if (req.mode === "navigate" && url.pathname.startsWith(root)) event.respondWith(fromShell(root, event));
    else if (shell.includes(url.pathname)) event.respondWith(fromShell(url.pathname, event));
  });

  async function fromShell(path, event) {
    const cache = await caches.open(cacheName);
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
}
