// Service worker of the returns desk (scope /returns-desk/): the app shell is pre-cached so the
// app opens with a weak connection (its writes wait in the kit's offline queue); served from the
// cache and refreshed in the background. API requests are never touched.

importScripts("/kit/sw-shell.js");

// bump the version with every change of the shell
laadbakShell({
  app: "returns-desk",
  version: "v7",
  shell: [
    "/returns-desk/",
    "/returns-desk/app.css",
    "/returns-desk/app.js",
    "/returns-desk/model.js",
    "/returns-desk/task-views.js",
    "/returns-desk/supplier.js",
    "/returns-desk/live.js",
    "/kit/trailing-slash.js",
    "/returns-desk/messages/en.js",
    "/returns-desk/messages/nl.js",
    "/returns-desk/manifest.webmanifest",
    "/courier/icons/icon-192.png",
    "/kit/html.js",
    "/kit/api.js",
    "/kit/session.js",
    "/kit/queue.js",
    "/kit/i18n.js",
    "/kit/lang-switch.js",
    "/kit/scanner.js",
    "/kit/stream.js",
    "/kit/tokens.css",
    "/kit/worker.css",
    "/kit/messages/en.js",
    "/kit/messages/nl.js",
    "/vendor/lit-html/lit-html.js",
  ],
});
