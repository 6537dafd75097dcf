// The visible language switch: two buttons, the current one pressed.
import { html, render } from "./html.js";
import { LANGS } from "./i18n.js";

const NAMES = { en: "English", nl: "Nederlands" };

/** Render the switch into ``container`` and keep it in step with ``i18n``. */
export function mountLangSwitch(container, i18n) {
  const draw = () => render(html`
    <div class="lang-switch" role="group" aria-label=${i18n.t("lang.switch")}>
      ${LANGS.map((l) => html`<button type="button" lang=${l} data-lang=${l} aria-pressed=${String(l === i18n.lang)}
        title=${NAMES[l]} @click=${() => i18n.setLang(l)}>${l.toUpperCase()}<span class="visually-hidden"> ${NAMES[l]}</span></button>`)}
    </div>`, container);
  i18n.onChange(draw);
  draw();
}
