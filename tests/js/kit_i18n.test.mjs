// Translation (pwa/static/kit/i18n.js): choice of language, fallback, placeholders, plurals.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createI18n, pickLang, format, STORAGE_KEY } from "../../pwa/static/kit/i18n.js";

const memory = (init = {}) => {
  const m = new Map(Object.entries(init));
  return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => m.set(k, v), m };
};
const cats = { en: { hi: "Hello {name}", only: "English only", n: "{n} {n|stop|stops}" }, nl: { hi: "Hallo {name}", n: "{n} {n|stop|stops}" } };

test("the saved choice wins, then the browser's language, then English", () => {
  assert.equal(pickLang("nl", ["en-GB"]), "nl");
  assert.equal(pickLang(null, ["fr-FR", "nl-BE"]), "nl");
  assert.equal(pickLang("de", ["fr"]), "en");
  assert.equal(pickLang(null, []), "en");
});

test("a key missing in Dutch falls back to English, an unknown key to itself", () => {
  const i = createI18n(cats, { storage: memory(), browserLangs: ["nl-NL"] });
  assert.equal(i.lang, "nl");
  assert.equal(i.t("hi", { name: "Mia" }), "Hallo Mia");
  assert.equal(i.t("only"), "English only");
  assert.equal(i.t("nope.key"), "nope.key");
});

test("switching language is kept and announced", () => {
  const storage = memory();
  const i = createI18n(cats, { storage, browserLangs: ["en"] });
  let heard = null;
  i.onChange((l) => { heard = l; });
  i.setLang("nl");
  assert.equal(heard, "nl");
  assert.equal(storage.m.get(STORAGE_KEY), "nl");
  assert.equal(createI18n(cats, { storage, browserLangs: ["en"] }).lang, "nl");
  i.setLang("xx");
  assert.equal(i.lang, "nl");
});

test("plurals and missing placeholders", () => {
  assert.equal(format("{n} {n|stop|stops}", { n: 1 }), "1 stop");
  assert.equal(format("{n} {n|stop|stops}", { n: 3 }), "3 stops");
  assert.equal(format("Hi {who}", {}), "Hi {who}");
});

test("numbers follow the locale", () => {
  const nl = createI18n(cats, { storage: memory({ [STORAGE_KEY]: "nl" }) });
  assert.equal(nl.number(1.5, { maximumFractionDigits: 1 }), "1,5");
  const en = createI18n(cats, { storage: memory({ [STORAGE_KEY]: "en" }) });
  assert.equal(en.number(1.5, { maximumFractionDigits: 1 }), "1.5");
});

test("server wall-clock times in the locale's 24-hour clock", () => {
  for (const lang of ["en", "nl"]) {
    const i = createI18n(cats, { storage: memory({ [STORAGE_KEY]: lang }) });
    assert.equal(i.clock("2026-12-04T09:05:00"), "09:05");
    assert.equal(i.clock("17:30"), "17:30");
    assert.equal(i.clock("soon"), "soon");
  }
});
