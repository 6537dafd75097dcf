// Every string in both languages: the Dutch and English catalogues have the same
// keys, and every t("key") written in an app's source exists in English.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const STATIC = new URL("../../pwa/static/", import.meta.url).pathname;
const apps = ["kit", "courier", "track-app", "dispatch", "pick", "returns", "point", "returns-desk"];

async function catalogue(app, lang) {
  return (await import(join(STATIC, app, "messages", `${lang}.js`))).default;
}

for (const app of apps) {
  test(`${app}: Dutch and English have the same keys, none empty`, async () => {
    const en = await catalogue(app, "en");
    const nl = await catalogue(app, "nl");
    assert.deepEqual(Object.keys(nl).sort(), Object.keys(en).sort());
    for (const [k, v] of [...Object.entries(en), ...Object.entries(nl)]) assert.ok(String(v).trim(), k);
  });
}

// The desk's panels bring their own catalogue (merged into the desk's by dispatch/app.js).
test("dispatch panels: Dutch and English have the same keys, none empty", async () => {
  const en = await catalogue("dispatch", "panels-en");
  const nl = await catalogue("dispatch", "panels-nl");
  assert.deepEqual(Object.keys(nl).sort(), Object.keys(en).sort());
  for (const [k, v] of [...Object.entries(en), ...Object.entries(nl)]) assert.ok(String(v).trim(), k);
});

// The picker app's packing screen brings its own catalogue too (merged by pick/app.js).
test("pick packing: Dutch and English have the same keys, none empty", async () => {
  const en = await catalogue("pick", "pack-en");
  const nl = await catalogue("pick", "pack-nl");
  assert.deepEqual(Object.keys(nl).sort(), Object.keys(en).sort());
  for (const [k, v] of [...Object.entries(en), ...Object.entries(nl)]) assert.ok(String(v).trim(), k);
});

test("pick sorting: Dutch and English have the same keys, none empty", async () => {
  const en = await catalogue("pick", "sort-en");
  const nl = await catalogue("pick", "sort-nl");
  assert.deepEqual(Object.keys(nl).sort(), Object.keys(en).sort());
  for (const [k, v] of [...Object.entries(en), ...Object.entries(nl)]) assert.ok(String(v).trim(), k);
});

test("every literal key used in the apps exists", async () => {
  const known = new Set();
  for (const app of apps) for (const k of Object.keys(await catalogue(app, "en"))) known.add(k);
  for (const k of Object.keys(await catalogue("dispatch", "panels-en"))) known.add(k);
  for (const k of Object.keys(await catalogue("pick", "pack-en"))) known.add(k);
  for (const k of Object.keys(await catalogue("pick", "sort-en"))) known.add(k);
  const missing = [];
  for (const app of apps) {
    for (const file of readdirSync(join(STATIC, app)).filter((f) => f.endsWith(".js") || f.endsWith(".html"))) {
      const src = readFileSync(join(STATIC, app, file), "utf8");
      for (const m of src.matchAll(/\bt\("([a-zA-Z_.]+)"/g)) if (!known.has(m[1])) missing.push(`${app}/${file}: ${m[1]}`);
    }
  }
  for (const page of ["courier/index.html", "track/index.html", "dispatch/index.html", "pick/index.html", "returns/index.html"]) {
    const src = readFileSync(join(STATIC, page), "utf8");
    for (const m of src.matchAll(/data-i18n(?:-[a-z-]+)?="([^"]+)"/g)) if (!known.has(m[1])) missing.push(`${page}: ${m[1]}`);
  }
  assert.deepEqual(missing, []);
});

// The desk panels' literal keys (their catalogue is dispatch/messages/panels-{en,nl}.js).
const panelsCatalogue = async (lang) => (await import(join(STATIC, "dispatch", "messages", `panels-${lang}.js`))).default;

test("dispatch panels: every literal key used in panels/*.js exists in English", async () => {
  const known = new Set([...Object.keys(await panelsCatalogue("en")), ...Object.keys(await catalogue("kit", "en"))]);
  const dir = join(STATIC, "dispatch", "panels");
  const missing = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".js"))) {
    const src = readFileSync(join(dir, file), "utf8");
    for (const m of src.matchAll(/\bt\("([a-zA-Z0-9_.]+)"/g)) if (!known.has(m[1])) missing.push(`panels/${file}: ${m[1]}`);
    for (const m of src.matchAll(/"(panel\.[a-zA-Z0-9_.]+)"/g)) if (!known.has(m[1])) missing.push(`panels/${file}: ${m[1]}`);
  }
  assert.deepEqual(missing, []);
});
