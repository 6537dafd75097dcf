// Translation: message catalogues per language (plain JS objects), the user's
// choice kept in localStorage, the browser's language as the default, English
// as the fallback for a key a catalogue lacks, and Intl for numbers and times.

export const LANGS = ["en", "nl"];
export const STORAGE_KEY = "laadbak.lang";
const FALLBACK = "en";

/** The language to use: the saved choice, else the first supported browser language, else English. */
export function pickLang(saved, browserLangs = []) {
  if (LANGS.includes(saved)) return saved;
  for (const l of browserLangs) {
    const base = String(l || "").toLowerCase().split("-")[0];
    if (LANGS.includes(base)) return base;
  }
  return FALLBACK;
}

/** Fill {name} placeholders; {n|one|many} picks the singular or plural form for the number ``n``. */
export function format(template, params = {}) {
  return template.replace(/\{(\w+)(?:\|([^|}]*)\|([^}]*))?\}/g, (whole, name, one, many) => {
    const value = params[name];
    if (one !== undefined) return Number(value) === 1 ? one : many;
    return value === undefined || value === null ? whole : String(value);
  });
}

/**
 * A translator over ``catalogues`` ({en: {...}, nl: {...}}, merged from the kit and the app).
 * t(key, params) looks the key up in the current language, then in English, then gives the key itself.
 */
export function createI18n(catalogues, { storage = globalThis.localStorage, browserLangs } = {}) {
  const langs = browserLangs ?? (globalThis.navigator?.languages || [globalThis.navigator?.language]);
  let saved = null;
  try { saved = storage?.getItem(STORAGE_KEY); } catch { /* storage blocked */ }
  let lang = pickLang(saved, langs);
  const listeners = new Set();

  const t = (key, params) => {
    const text = catalogues[lang]?.[key] ?? catalogues[FALLBACK]?.[key];
    return text === undefined ? key : format(text, params);
  };
  return {
    t,
    get lang() { return lang; },
    setLang(next) {
      if (!LANGS.includes(next) || next === lang) return;
      lang = next;
      try { storage?.setItem(STORAGE_KEY, next); } catch { /* not kept: fine for this visit */ }
      for (const fn of listeners) fn(lang);
    },
    onChange(fn) { listeners.add(fn); },
    number: (n, opts) => new Intl.NumberFormat(lang, opts).format(n),
    /** "HH:MM" of a Date (or ms) in the locale's clock. */
    time: (d) => new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" }).format(d),
    /**
     * A wall-clock time as sent by the server ("09:28", or "2026-12-04T09:28:18" in the hub's
     * local time) in the locale's 24-hour clock; anything else is given back unchanged.
     */
    clock(value) {
      const m = /(?:^|T)(\d{2}):(\d{2})/.exec(String(value ?? ""));
      if (!m) return String(value ?? "–");
      const at = Date.UTC(2000, 0, 1, Number(m[1]), Number(m[2]));
      return new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: "UTC" }).format(at);
    },
  };
}

/** Translate a static page: data-i18n sets the text, data-i18n-<attr> sets that attribute. */
export function translateDom(root, i18n) {
  root.documentElement?.setAttribute("lang", i18n.lang);
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = i18n.t(el.dataset.i18n);
  for (const attr of ["aria-label", "placeholder", "title", "alt", "content"]) {
    for (const el of root.querySelectorAll(`[data-i18n-${attr}]`)) {
      el.setAttribute(attr, i18n.t(el.getAttribute(`data-i18n-${attr}`)));
    }
  }
}
