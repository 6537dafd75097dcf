// The apps' house rules: small files with one job, and markup only through
// escaping templates (no innerHTML, no insertAdjacentHTML, no document.write).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const STATIC = new URL("../../pwa/static/", import.meta.url).pathname;
const APPS = ["kit", "kit/messages", "courier", "courier/messages", "track-app", "track-app/messages",
  "dispatch", "dispatch/messages", "dispatch/panels", "point", "point/messages", "returns-desk",
  "returns-desk/messages"];
const files = APPS.flatMap((dir) => readdirSync(join(STATIC, dir)).filter((f) => f.endsWith(".js")).map((f) => join(dir, f)));

test("no JS file of the apps is above 400 lines", () => {
  const long = files.map((f) => [f, readFileSync(join(STATIC, f), "utf8").split("\n").length]).filter(([, n]) => n > 400);
  assert.deepEqual(long, []);
});

test("no hand-built HTML: templates escape every value", () => {
  const raw = files.filter((f) => /\.innerHTML\s*=|insertAdjacentHTML|document\.write|unsafeHTML/.test(readFileSync(join(STATIC, f), "utf8")));
  assert.deepEqual(raw, []);
});
