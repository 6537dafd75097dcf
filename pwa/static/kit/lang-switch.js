// The visible language switch: one button per language, the current one pressed.
import { html, render } from "./html.js";
import { LANGS } from "./i18n.js";

const NAMES = { en: "English", nl: "Nederlands" };

/** The switch as a template, to place inside an app's own template; ``short``: "EN"/"NL" where space is tight. */
export function langSwitch(i18n, { short = false } = {}) {
  return html`
    <div class="lang-switch" role="group" aria-label=${i18n.t("lang.switch")}>
      ${LANGS.map((l) => html`<button type="button" lang=${l} data-lang=${l} aria-pressed=${String(l === i18n.lang)}
        @click=${() => i18n.setLang(l)}>${short
          ? html`${l.toUpperCase()}<span class="visually-hidden"> ${NAMES[l]}</span>` : NAMES[l]}</button>`)}
    </div>`;
}

/** Render the switch into ``container`` and keep it in step with ``i18n``. */
export function mountLangSwitch(container, i18n, options) {
  const draw = () => render(langSwitch(i18n, options), container);
  i18n.onChange(draw);
  draw();
}
