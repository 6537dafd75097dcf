// Scanning for the worker apps: keyboard-wedge scanners and the camera.
//
// A keyboard-wedge scanner "types" a code as keystrokes a few milliseconds apart and
// ends it with Enter (some with Tab), sometimes with a configured prefix or suffix.
// Where it types depends on focus: into the app's scan field (an <input
// data-scan-field inputmode="none">, so no on-screen keyboard opens), or, when the
// picker has tapped elsewhere, into the page itself. Both end up as one scan. Keys
// typed slowly outside the scan field are a person at a keyboard, not a scan, and
// are left alone; in the scan field a person may type a code by hand and press Enter.

export const SCAN_DEFAULTS = Object.freeze({ prefix: "", suffix: "", maxGapMs: 80, minLength: 3 });

/** ``raw`` as a code: control characters other than GS (GS1's separator) dropped, blanks
 *  trimmed, the scanner's configured prefix and suffix taken off. */
export function cleanScan(raw, { prefix = "", suffix = "" } = {}) {
  // eslint-disable-next-line no-control-regex
  let code = String(raw).replace(/[\u0000-\u001c\u001e\u001f\u007f]/g, "").trim();
  if (prefix && code.startsWith(prefix)) code = code.slice(prefix.length);
  if (suffix && code.endsWith(suffix)) code = code.slice(0, -suffix.length);
  return code.trim();
}

/**
 * Keystrokes outside the scan field to scans. ``feed(key, atMs)`` takes a KeyboardEvent's
 * ``key`` and its time; it answers the code when a fast burst ends in Enter or Tab, else
 * null. A pause longer than ``maxGapMs`` starts over: that was a person typing.
 */
export function createScanBuffer(options = {}) {
  const opts = { ...SCAN_DEFAULTS, ...options };
  let chars = "";
  let last = -Infinity;
  return {
    feed(key, atMs) {
      const gap = atMs - last;
      last = atMs;
      if (key === "Enter" || key === "Tab") {
        const burst = chars;
        chars = "";
        if (gap > opts.maxGapMs || burst.length < opts.minLength) return null;
        const code = cleanScan(burst, opts);
        return code.length >= opts.minLength ? code : null;
      }
      if (typeof key !== "string" || key.length !== 1) return null; // Shift, arrows, F-keys
      if (gap > opts.maxGapMs) chars = "";
      chars += key;
      return null;
    },
    get pending() { return chars; },
  };
}

const EDITABLE = "input, textarea, select, [contenteditable]";

/**
 * Scans on ``doc`` go to ``onScan(code, how)`` (how: "field" or "wedge"): Enter in a
 * ``[data-scan-field]`` input takes its value (and empties it), and a fast burst typed
 * anywhere but another editable field is a scan too. Answers a function that detaches.
 */
export function attachScanner(doc, onScan, options = {}) {
  const opts = { ...SCAN_DEFAULTS, ...options };
  const buffer = createScanBuffer(opts);
  const onKey = (event) => {
    const target = event.target;
    const field = target?.closest?.("[data-scan-field]");
    if (field) {
      if (event.key !== "Enter" && event.key !== "Tab") return;
      event.preventDefault();
      const code = cleanScan(field.value, opts);
      field.value = "";
      if (code) onScan(code, "field");
      return;
    }
    if (target?.closest?.(EDITABLE)) return; // a form field: the person is typing there
    const code = buffer.feed(event.key, event.timeStamp ?? Date.now());
    if (code) {
      event.preventDefault(); // the burst's Enter must not also press a focused button
      onScan(code, "wedge");
    }
  };
  doc.addEventListener("keydown", onKey, true);
  return () => doc.removeEventListener("keydown", onKey, true);
}

/**
 * ``attachScanner`` whose prefix and suffix can change while it listens: the hub's setting
 * arrives after login (``loadScannerOptions``), long after the app started listening.
 * ``configure({prefix, suffix})`` applies from the next key; ``detach()`` stops.
 */
export function createScanner(doc, onScan, options = {}) {
  let opts = { ...options };
  let detach = attachScanner(doc, onScan, opts);
  return {
    configure(next) {
      detach();
      opts = { ...opts, ...next };
      detach = attachScanner(doc, onScan, opts);
    },
    get options() { return { ...opts }; },
    detach: () => detach(),
  };
}

const SCANNER_KEY = "laadbak.scanner";

/** The ``{prefix, suffix}`` of an answer of GET /scanner (or what was kept of one); strings only. */
export function scannerOptions(data) {
  const text = (v) => (typeof v === "string" ? v : "");
  return { prefix: text(data?.prefix), suffix: text(data?.suffix) };
}

/**
 * The prefix and suffix the hub's scanners send (GET /scanner, docs/api.md "Scanner"), kept
 * in ``storage`` so the app offline still takes them off; none when neither is known.
 */
export async function loadScannerOptions({ request, storage = globalThis.localStorage } = {}) {
  try {
    const res = await request("GET", "/scanner");
    if (res.ok) {
      const opts = scannerOptions(res.data);
      try { storage?.setItem(SCANNER_KEY, JSON.stringify(opts)); } catch { /* not kept */ }
      return opts;
    }
  } catch { /* offline: what was kept */ }
  try { return scannerOptions(JSON.parse(storage?.getItem(SCANNER_KEY) ?? "null")); } catch { return scannerOptions(null); }
}

/** Whether this browser can read barcodes from the camera (the Barcode Detection API). */
export function cameraScanSupported(win = globalThis) {
  return typeof win.BarcodeDetector === "function" && Boolean(win.navigator?.mediaDevices?.getUserMedia);
}

const CAMERA_FORMATS = ["ean_13", "ean_8", "upc_a", "code_128", "qr_code", "data_matrix"];

/**
 * Read one code from the camera into ``video``: resolves with the code, or null when
 * ``signal`` aborts. The camera is released either way.
 */
export async function scanWithCamera(video, { signal, win = globalThis, everyMs = 150 } = {}) {
  const supported = await win.BarcodeDetector.getSupportedFormats?.().catch(() => []) ?? [];
  const formats = CAMERA_FORMATS.filter((f) => !supported.length || supported.includes(f));
  const detector = new win.BarcodeDetector({ formats });
  const stream = await win.navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  try {
    video.srcObject = stream;
    await video.play();
    while (!signal?.aborted) {
      const found = await detector.detect(video).catch(() => []);
      if (found.length) return cleanScan(found[0].rawValue);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
    return null;
  } finally {
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  }
}
