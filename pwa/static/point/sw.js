// Service worker of the pickup-point app (scope /point/): the app shell is pre-cached so the app
// opens on the shop's tablet with a weak connection; served from the cache and refreshed in the
// background. API requests are never touched: the point's parcels are the server's; scans
// made offline wait in the app's queue (IndexedDB) with their Idempotency-Key.

importScripts("/kit/sw-shell.js");

// bump the version with every change of the shell
laadbakShell({
  app: "point",
  version: "v6",
  shell: [
    "/point/",
    "/point/app.css",
    "/point/app.js",
    "/point/model.js",
    "/point/returns.js",
    "/point/announced.js",
    "/kit/trailing-slash.js",
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
    "/kit/worker.css",
    "/kit/messages/en.js",
    "/kit/messages/nl.js",
    "/vendor/lit-html/lit-html.js",
  ],
});
