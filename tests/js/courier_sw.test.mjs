// The courier app opens offline only if its service worker pre-caches every module it imports.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import { posix } from "node:path";

const STATIC = new URL("../../pwa/static", import.meta.url).pathname;
const read = (url) => readFileSync(STATIC + url, "utf8");

test("the shell cache lists every module the app imports, and only files that exist", () => {
  const sw = read("/courier/sw.js");
  const shell = new Set([...sw.slice(0, sw.indexOf("];")).matchAll(/"(\/[^"]+)"/g)].map((m) => m[1]));
  const seen = new Set();
  const todo = ["/courier/app.js"];
  while (todo.length) {
    const url = todo.pop();
    if (seen.has(url)) continue;
    seen.add(url);
    for (const m of read(url).matchAll(/from\s+"([^"]+)"/g)) todo.push(posix.normalize(posix.join(posix.dirname(url), m[1])));
  }
  assert.deepEqual([...seen].filter((u) => !shell.has(u)), []);
  assert.deepEqual([...shell].filter((u) => !u.endsWith("/") && !existsSync(STATIC + u)), []);
});
