// Problem details turned into sentences (pwa/static/kit/api.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { problemSentence, csrfToken } from "../../pwa/static/kit/api.js";
import { createI18n } from "../../pwa/static/kit/i18n.js";
import en from "../../pwa/static/kit/messages/en.js";
import nl from "../../pwa/static/kit/messages/nl.js";

const storage = (lang) => ({ getItem: () => lang, setItem() {} });
const t = createI18n({ en, nl }, { storage: storage("en") }).t;
const tNl = createI18n({ en, nl }, { storage: storage("nl") }).t;

test("the server's detail is kept, as a sentence", () => {
  assert.equal(problemSentence({ status: 409, data: { detail: "Stop 4 is already delivered" } }, t), "Stop 4 is already delivered.");
});

test("without a detail the status picks a sentence in the user's language", () => {
  assert.match(problemSentence({ status: 503, data: null }, t), /server.*sent again/);
  assert.match(problemSentence({ status: 403, data: {} }, tNl), /^Dit mag niet/);
  assert.match(problemSentence({ status: 418, data: {} }, t), /answered 418/);
});

test("a validation error names the field", () => {
  const res = { status: 400, data: { detail: "Validation failed", extra: [{ key: "barcode", message: "too long" }] } };
  assert.equal(problemSentence(res, t), "Validation failed (barcode: too long).");
});

test("the CSRF token comes from the laadbak_csrf cookie", () => {
  assert.equal(csrfToken("a=1; laadbak_csrf=x%2By; b=2"), "x+y");
  assert.equal(csrfToken("a=1"), null);
});

test("in Dutch the sentence is Dutch and the server's English detail follows", () => {
  const res = { status: 409, data: { detail: "Stop 4 is already delivered." } };
  assert.equal(problemSentence(res, tNl, "nl"),
    "Dit is intussen ergens anders gewijzigd; het scherm toont nu de actuele stand (Stop 4 is already delivered).");
  assert.equal(problemSentence({ status: 500, data: {} }, tNl, "nl"),
    "Er ging iets mis op de server; je actie is bewaard en wordt zo opnieuw verstuurd.");
});
