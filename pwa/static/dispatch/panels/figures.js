// The day's figures (GET /hubs/{id}/figures): every 60 s and after plan and route events
// (at most every 10 s), with the day's CSV and each courier's GPX trail to download.
import { html, nothing } from "../../kit/html.js";
import { figuresRows, dayCsvUrl, gpxUrl, courierChoices, clock } from "./model.js";
import { ui, hubAndDate, send } from "./shared.js";

export async function loadFigures(desk) {
  const { hubId, date } = hubAndDate(desk);
  if (hubId == null) return;
  const res = await send(desk, "GET", `/hubs/${hubId}/figures?date=${encodeURIComponent(date)}`);
  const f = ui.figures;
  if (res.ok) Object.assign(f, { data: res.data, error: "", at: String(desk.store.getState().now || "") });
  else f.error = res.sentence;
  desk.rerender();
}

export function figuresPanel(desk) {
  const t = desk.t;
  const { hubId, date, state } = hubAndDate(desk);
  const f = ui.figures;
  const rows = figuresRows(f.data, { lang: desk.lang });
  return html`<section class="panel panel-figures" aria-labelledby="panel-figures-h" data-panel="figures">
    <div class="panel-head"><h2 id="panel-figures-h">${t("panel.fig.title")}</h2>
      <button type="button" class="panel-btn" @click=${() => loadFigures(desk)}>${t("panel.fig.refresh")}</button></div>
    ${f.error ? html`<p class="panel-error" role="alert">${f.error}</p>` : nothing}
    ${rows.length ? html`<dl class="panel-figures-grid">${rows.map(([key, value]) => html`<div><dt>${t(key)}</dt>
      <dd>${value}</dd></div>`)}</dl>` : f.error ? nothing : html`<p class="panel-hint">${t("panel.loading")}</p>`}
    ${f.data?.co2Source ? html`<p class="panel-hint">${t("panel.fig.co2Source", { source: f.data.co2Source,
      factor: f.data.co2FactorKgPerKm })}</p>` : nothing}
    ${f.at ? html`<p class="panel-hint">${t("panel.fig.at", { at: clock(f.at, desk.lang) })}</p>` : nothing}
    <div class="panel-row">
      ${hubId != null ? html`<a class="panel-btn" href=${dayCsvUrl(hubId, date)} download>${t("panel.fig.csv")}</a>` : nothing}
    </div>
    <details class="panel-gpx"><summary>${t("panel.fig.gpxList")}</summary>
      <ul>${courierChoices(state).map((c) => html`<li><a class="panel-link" href=${gpxUrl(c.id, date)} download>
        ${c.name}</a></li>`)}</ul></details>
  </section>`;
}
