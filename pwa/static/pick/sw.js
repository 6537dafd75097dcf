// Service worker of the picker app (scope /pick/): the app shell is pre-cached so the app
// opens on a handheld with a weak connection; served from the cache and refreshed in the
// background. API requests are never touched: the pick state is the server's.

importScripts("/kit/sw-shell.js");

// bump the version with every change of the shell
laadbakShell({
  app: "pick",
  version: "v9",
  shell: [
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
    "/kit/trailing-slash.js",
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
    "/kit/worker.css",
    "/kit/messages/en.js",
    "/kit/messages/nl.js",
    "/vendor/lit-html/lit-html.js",
  ],
});
