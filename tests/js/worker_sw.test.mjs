// The worker apps open offline only if their service worker (kit/sw-shell.js) pre-caches every
// module the app imports: the shell each app's sw.js gives laadbakShell is checked against the imports.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import { posix } from "node:path";
import vm from "node:vm";

const STATIC = new URL("../../pwa/static", import.meta.url).pathname;
const read = (url) => readFileSync(STATIC + url, "utf8");

function shellOf(app) {
  // Run the app's sw.js with laadbakShell caught: what it is given is what is cached.
  let given = null;
  const sandbox = { importScripts: (url) => assert.equal(url, "/kit/sw-shell.js"), laadbakShell: (o) => { given = o; } };
  vm.runInNewContext(read(`/${app}/sw.js`), sandbox);
  return { ...given, shell: Array.from(given.shell) }; // an array of this realm, for deepEqual
}

for (const app of ["pick", "point", "returns-desk"]) {
  test(`${app}: the shell lists every module the app imports, and only files that exist`, () => {
    const { app: name, version, shell } = shellOf(app);
    assert.equal(name, app);
    assert.match(version, /^v\d+$/);
    const cached = new Set(shell);
    const seen = new Set();
    const todo = [`/${app}/app.js`];
    while (todo.length) {
      const url = todo.pop();
      if (seen.has(url)) continue;
      seen.add(url);
      for (const m of read(url).matchAll(/from\s+"([^"]+)"/g)) todo.push(posix.normalize(posix.join(posix.dirname(url), m[1])));
    }
    assert.deepEqual([...seen].filter((u) => !cached.has(u)), []);
    // and every file the page itself loads (kit/worker.css, kit/trailing-slash.js, its manifest, ...)
    const page = [...read(`/${app}/index.html`).matchAll(/(?:href|src)="(\/[^"]+)"/g)].map((m) => m[1]);
    assert.ok(page.includes("/kit/worker.css"), "the page links the kit's base stylesheet");
    assert.deepEqual(page.filter((u) => !cached.has(u)), []);
    assert.deepEqual(shell.filter((u) => !u.endsWith("/") && !existsSync(STATIC + u)), []);
  });
}

test("the shared worker answers a navigation in the app's scope from the cache it filled", async () => {
  const listeners = {};
  const store = new Map();
  const cache = {
    addAll: async (reqs) => reqs.forEach((r) => store.set(r.url, `body of ${r.url}`)),
    match: async (path) => store.get(path),
    put: async (path, res) => store.set(path, res),
  };
  const self = { addEventListener: (k, f) => { listeners[k] = f; }, location: { origin: "https://x" },
    skipWaiting: async () => {}, clients: { claim: async () => {} } };
  const sandbox = { self, caches: { open: async () => cache, keys: async () => [] }, URL, Request: class { constructor(url) { this.url = url; } },
    fetch: () => Promise.reject(new Error("offline")) };
  vm.runInNewContext(read("/kit/sw-shell.js") + "\nlaadbakShell({ app: 'pick', version: 'v9', shell: ['/pick/', '/pick/app.js'] });", sandbox);
  let waited;
  listeners.install({ waitUntil: (p) => { waited = p; } });
  await waited;
  let answer;
  const event = { request: { method: "GET", url: "https://x/pick/some/where", mode: "navigate" },
    respondWith: (p) => { answer = p; }, waitUntil: (p) => p.catch(() => {}) };
  listeners.fetch(event);
  assert.equal(await answer, "body of /pick/");
  // outside the shell and the scope: not touched (the network answers)
  answer = undefined;
  listeners.fetch({ ...event, request: { method: "GET", url: "https://x/pick/batches", mode: "cors" } });
  assert.equal(answer, undefined);
});
