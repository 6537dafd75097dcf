// The API client: JSON in and out, the CSRF header from the laadbak_csrf cookie,
// an Idempotency-Key when given, and problem-details turned into sentences.

/** The CSRF token in a cookie string, or null. */
export function csrfToken(cookies) {
  const c = String(cookies || "").split("; ").find((x) => x.startsWith("laadbak_csrf="));
  return c ? decodeURIComponent(c.slice("laadbak_csrf=".length)) : null;
}

/** fetch ``path``; resolves to {status, ok, data}; rejects only when the network failed. */
export async function request(method, path, { body, key, form, timeout = 15_000, headers: extra } = {}) {
  const headers = { Accept: "application/json", ...extra };
  if (key) headers["Idempotency-Key"] = key;
  // Read at send time: a queued action replayed after a new login carries the new session's token.
  const csrf = typeof document !== "undefined" ? csrfToken(document.cookie) : null;
  if (csrf && method !== "GET") headers["X-CSRF-Token"] = csrf;
  let payload;
  if (form) {
    payload = form;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeout);
  try {
    const res = await fetch(path, {
      method, headers, body: payload, credentials: "same-origin", signal: ctrl.signal, cache: "no-store",
    });
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = { detail: text.slice(0, 200) }; }
    return { status: res.status, ok: res.ok, data };
  } finally {
    clearTimeout(timer);
  }
}

// The status codes with a sentence of their own when the server says nothing useful.
const STATUS_KEYS = {
  400: "error.badRequest", 401: "error.loginNeeded", 403: "error.forbidden", 404: "error.notFound",
  408: "error.timeout", 409: "error.conflict", 413: "error.tooLarge", 422: "error.badRequest",
  429: "error.tooMany",
};

/**
 * One sentence a person can act on, from an answer {status, data} with a problem-details body
 * (title, detail, and for 422 a list of ``errors`` / ``extra`` naming the bad field).
 * The server's ``detail`` is written for people, in English: it is the sentence in English;
 * in another language the status picks the sentence and the detail follows in brackets.
 */
export function problemSentence(res, t, lang = "en") {
  const d = (res && res.data) || {};
  const field = firstField(d);
  const detail = typeof d.detail === "string" && d.detail.trim() ? d.detail.trim() : "";
  const general = res.status >= 500 ? t("error.server") : t(STATUS_KEYS[res.status] || "error.other", { status: res.status });
  let text = detail && lang === "en" ? detail : general;
  if (detail && lang !== "en") text = `${stripDot(general)} (${stripDot(detail)})`;
  if (field && !text.includes(field.key)) text = `${stripDot(text)} (${field.key}${field.message ? `: ${field.message}` : ""})`;
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

function firstField(d) {
  const list = Array.isArray(d.extra) ? d.extra : Array.isArray(d.errors) ? d.errors : null;
  const e = list && list[0];
  if (!e || typeof e !== "object" || !e.key) return null;
  return { key: String(e.key), message: e.message ? String(e.message) : "" };
}

const stripDot = (s) => s.replace(/\.$/, "");

/** The sentence for a request that never got an answer. */
export const networkSentence = (t) => t("error.network");
