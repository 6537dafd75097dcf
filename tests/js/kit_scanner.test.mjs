// The kit's scanning (pwa/static/kit/scanner.js) and scan feedback (feedback.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  attachScanner, cleanScan, createScanBuffer, cameraScanSupported, createScanner, loadScannerOptions, scannerOptions,
} from "../../pwa/static/kit/scanner.js";
import { signal } from "../../pwa/static/kit/feedback.js";

function burst(buffer, text, start = 1000, gap = 8, end = "Enter") {
  let out = null;
  [...text, end].forEach((key, i) => { out = buffer.feed(key, start + i * gap) ?? out; });
  return out;
}

test("a fast burst ending in Enter or Tab is a scan", () => {
  assert.equal(burst(createScanBuffer(), "8712345678906"), "8712345678906");
  assert.equal(burst(createScanBuffer(), "A03-12-2", 0, 5, "Tab"), "A03-12-2");
});

test("slow keys are a person typing, not a scan", () => {
  assert.equal(burst(createScanBuffer(), "8712345678906", 0, 300), null);
  const b = createScanBuffer();
  // A person pressed "x" long before the scanner's burst: it is not part of the code.
  b.feed("x", 0);
  assert.equal(burst(b, "T-0042", 5000), "T-0042");
});

test("a pause before Enter, or too short a burst, is not a scan", () => {
  const b = createScanBuffer();
  b.feed("1", 0); b.feed("2", 5); b.feed("3", 10); b.feed("4", 15);
  assert.equal(b.feed("Enter", 2000), null);
  assert.equal(burst(createScanBuffer(), "12"), null);
});

test("modifier and function keys inside a burst are ignored", () => {
  const b = createScanBuffer();
  let code = null;
  ["Shift", "A", "0", "3", "Shift", "-", "1", "Enter"].forEach((k, i) => { code = b.feed(k, i * 5) ?? code; });
  assert.equal(code, "A03-1");
});

test("the scanner's prefix, suffix, blanks and control characters come off; GS1's separator stays", () => {
  assert.equal(cleanScan("  ##8712345678906!\r\n", { prefix: "##", suffix: "!" }), "8712345678906");
  assert.equal(cleanScan("]C101087123456789061710\u001d10LOT7"), "]C101087123456789061710\u001d10LOT7");
  assert.equal(burst(createScanBuffer({ prefix: "@" }), "@T-0007"), "T-0007");
});

function fakeDoc() {
  const listeners = [];
  return {
    addEventListener: (type, fn) => listeners.push(fn),
    removeEventListener: (type, fn) => listeners.splice(listeners.indexOf(fn), 1),
    press(key, target, timeStamp) {
      const event = { key, target, timeStamp, prevented: false, preventDefault() { this.prevented = true; } };
      for (const fn of [...listeners]) fn(event);
      return event;
    },
    get listening() { return listeners.length; },
  };
}

const element = (matches, value = "") => ({ value, closest: (sel) => (matches.some((m) => sel.includes(m)) ? element(matches) : null) });

test("Enter in the scan field takes its value, at any typing speed, and empties it", () => {
  const doc = fakeDoc();
  const scans = [];
  attachScanner(doc, (code, how) => scans.push([code, how]));
  const field = { value: " B07-03-1 ", closest: (sel) => (sel === "[data-scan-field]" ? field : null) };
  assert.equal(doc.press("B", field, 0).prevented, false); // typing goes into the field as usual
  const enter = doc.press("Enter", field, 5000);
  assert.equal(enter.prevented, true);
  assert.deepEqual(scans, [["B07-03-1", "field"]]);
  assert.equal(field.value, "");
});

test("a burst on the page is a scan; typing into another form field is left alone", () => {
  const doc = fakeDoc();
  const scans = [];
  const detach = attachScanner(doc, (code, how) => scans.push([code, how]));
  const body = element([]);
  [..."T-0042"].forEach((k, i) => doc.press(k, body, 100 + i * 6));
  assert.equal(doc.press("Enter", body, 140).prevented, true);
  const note = element(["input"]);
  [..."hello"].forEach((k, i) => doc.press(k, note, 200 + i * 6));
  doc.press("Enter", note, 240);
  assert.deepEqual(scans, [["T-0042", "wedge"]]);
  detach();
  assert.equal(doc.listening, 0);
});

test("attachScanner with the hub's prefix and suffix takes them off field and wedge scans", () => {
  const doc = fakeDoc();
  const scans = [];
  attachScanner(doc, (code, how) => scans.push([code, how]), { prefix: "]X9", suffix: "#" });
  const field = { value: "]X9A01-02-1#\r", closest: (sel) => (sel === "[data-scan-field]" ? field : null) };
  doc.press("Enter", field, 0);
  const body = element([]);
  [..."]X98712345678906#"].forEach((k, i) => doc.press(k, body, 100 + i * 6));
  doc.press("Enter", body, 100 + 17 * 6);
  // typed by hand without them (a label read out loud): taken as it is
  field.value = "T-0042";
  doc.press("Enter", field, 5000);
  assert.deepEqual(scans, [["A01-02-1", "field"], ["8712345678906", "wedge"], ["T-0042", "field"]]);
});

test("createScanner takes the setting that comes after login, from the next scan on", () => {
  const doc = fakeDoc();
  const scans = [];
  const scanner = createScanner(doc, (code) => scans.push(code));
  const field = { value: "$T-0042*", closest: (sel) => (sel === "[data-scan-field]" ? field : null) };
  doc.press("Enter", field, 0);
  scanner.configure({ prefix: "$", suffix: "*" });
  assert.equal(doc.listening, 1); // one listener, not two: a scan is not sent twice
  field.value = "$T-0042*";
  doc.press("Enter", field, 10);
  assert.deepEqual(scans, ["$T-0042*", "T-0042"]);
  assert.deepEqual(scanner.options, { prefix: "$", suffix: "*" });
  scanner.detach();
  assert.equal(doc.listening, 0);
});

test("loadScannerOptions: the hub's answer, kept for offline; none when nothing is known", async () => {
  const kept = new Map();
  const storage = { getItem: (k) => kept.get(k) ?? null, setItem: (k, v) => kept.set(k, v) };
  const asked = [];
  const answer = (res) => async (method, path) => { asked.push(`${method} ${path}`); return res; };
  const ok = { status: 200, ok: true, data: { hubId: 1, prefix: "$", suffix: "*" } };
  assert.deepEqual(await loadScannerOptions({ request: answer(ok), storage }), { prefix: "$", suffix: "*" });
  assert.deepEqual(asked, ["GET /scanner"]);
  const offline = async () => { throw new TypeError("Failed to fetch"); };
  assert.deepEqual(await loadScannerOptions({ request: offline, storage }), { prefix: "$", suffix: "*" });
  assert.deepEqual(await loadScannerOptions({ request: offline, storage: { getItem: () => null } }), { prefix: "", suffix: "" });
  assert.deepEqual(scannerOptions({ prefix: 5, suffix: null }), { prefix: "", suffix: "" });
});

test("the camera is offered only where the browser can read barcodes", () => {
  assert.equal(cameraScanSupported({}), false);
  assert.equal(cameraScanSupported({ BarcodeDetector: function () {}, navigator: {} }), false);
  assert.equal(
    cameraScanSupported({ BarcodeDetector: function () {}, navigator: { mediaDevices: { getUserMedia() {} } } }),
    true,
  );
});

test("feedback: a good scan taps once, a wrong one buzzes twice; no sound API is fine", () => {
  const vibrated = [];
  const win = { navigator: { vibrate: (p) => { vibrated.push(p); return true; } } };
  assert.deepEqual(signal("ok", { win }), { sound: false, vibrate: true });
  assert.deepEqual(signal("error", { win }), { sound: false, vibrate: true });
  assert.deepEqual(vibrated, [[40], [200, 80, 200]]);
  assert.deepEqual(signal("ok", { win: {} }), { sound: false, vibrate: false });
  assert.throws(() => signal("maybe", { win }), /unknown feedback/);
});

test("feedback plays its tones one after another", () => {
  const started = [];
  class Ctx {
    constructor() { this.currentTime = 10; this.state = "running"; this.destination = {}; }
    createOscillator() {
      return { frequency: {}, connect: (g) => g, start(at) { started.push([this.frequency.value, at]); }, stop() {} };
    }
    createGain() { return { gain: {}, connect: (d) => d }; }
  }
  assert.equal(signal("error", { win: { AudioContext: Ctx } }).sound, true);
  assert.deepEqual(started.map(([hz]) => hz), [220, 220]);
  assert.ok(Math.abs(started[1][1] - (10 + 0.16 + 0.06)) < 1e-9);
});
