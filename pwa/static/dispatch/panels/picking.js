// The Picking panel: the supervisor's view of the hub's warehouse on the desk. Per wave of
// the day (GET /hubs/{id}/waves): lines picked, short, left, the pickers on it and the time
// left to its cut-off. Live: every warehouse event on the hub stream (wave.released,
// pick.batch.*) reads the figures again, one request at a time (events during a request
// read once more after it); the time left follows the desk's clock. A wave with lines not
// released yet has "Release wave now" (picking-release.js); waves are also released on their
// own at their release time (docs/warehouse.md, "Waves on time").
import { html, nothing } from "../../kit/html.js";
import { clock } from "./model.js";
import { hubAndDate, send } from "./shared.js";
import { canRelease, pickingRows } from "./picking-model.js";
import { releasing, releaseWaveNow } from "./picking-release.js";

const picking = { data: null, error: "", busy: false, again: false };

export async function loadPicking(desk) {
  const { hubId, date } = hubAndDate(desk);
  if (hubId == null || !date) return;
  if (picking.busy) {
    picking.again = true;
    return;
  }
  picking.busy = true;
  picking.again = false;
  try {
    const res = await send(desk, "GET", `/hubs/${hubId}/waves?date=${encodeURIComponent(date)}`);
    if (res.ok) Object.assign(picking, { data: res.data, error: "" });
    else picking.error = res.sentence;
  } finally {
    picking.busy = false;
  }
  desk.rerender();
  if (picking.again) loadPicking(desk);
}

export function pickingPanel(desk) {
  const t = desk.t;
  const { date, state } = hubAndDate(desk);
  const rows = pickingRows(picking.data, { date, now: state.now });
  return html`<section class="panel panel-picking" aria-labelledby="panel-picking-h" data-panel="picking">
    <div class="panel-head"><h2 id="panel-picking-h">${t("panel.pick.title")}</h2></div>
    ${picking.error ? html`<p class="panel-error" role="alert">${picking.error}</p>` : nothing}
    ${picking.data === null ? (picking.error ? nothing : html`<p class="panel-hint">${t("panel.loading")}</p>`)
      : rows.length === 0 ? html`<p class="panel-hint">${t("panel.pick.none")}</p>` : html`
      <ul class="picking-waves">${rows.map((w) => html`<li class="picking-wave" data-cutoff=${w.cutoff}>
        <h3>${t("panel.pick.wave", { cutoff: clock(w.cutoff, desk.lang) })}
          <span class="panel-badge ${w.late ? "state-late" : w.left ? "state-next" : "state-done"}" data-time>
            ${w.left ? t(w.time.key, w.time.params) : t("panel.pick.allDone")}</span></h3>
        <progress max=${Math.max(1, w.lines)} .value=${w.done}
          aria-label=${t("panel.pick.progress", { done: w.done, lines: w.lines })}></progress>
        <dl class="panel-facts">
          <div><dt>${t("panel.pick.picked")}</dt><dd data-picked>${w.picked} / ${w.lines}</dd></div>
          <div class=${w.short ? "panel-warn" : ""}><dt>${t("panel.pick.short")}</dt><dd data-short>${w.short}</dd></div>
          <div><dt>${t("panel.pick.leftLines")}</dt><dd data-left>${w.left}</dd></div>
          ${w.atShops ? html`<div><dt>${t("panel.pick.atShops")}</dt><dd>${w.atShops}</dd></div>` : nothing}
        </dl>
        <p class="panel-hint" data-pickers>${w.pickers.length ? t("panel.pick.pickers", { names: w.pickers.join(", ") })
          : w.left ? t("panel.pick.noPickers") : ""}${w.unreleased ? ` ${t("panel.pick.unreleased", { n: w.unreleased })}` : ""}</p>
        ${canRelease(w) ? releaseButton(desk, w.cutoff) : nothing}
        ${releasing.error && releasing.cutoff === w.cutoff
          ? html`<p class="panel-error" role="alert" data-release-error>${releasing.error}</p>` : nothing}
      </li>`)}</ul>`}
  </section>`;
}

function releaseButton(desk, cutoff) {
  const t = desk.t;
  const busy = releasing.busy === cutoff;
  return html`<button type="button" class="panel-btn" data-action="release-wave" ?disabled=${Boolean(releasing.busy)}
    aria-busy=${busy ? "true" : "false"} @click=${() => releaseWaveNow(desk, cutoff, { after: loadPicking })}>
    ${busy ? t("panel.pick.releasing") : t("panel.pick.releaseNow")}</button>`;
}
