// The Returns panel: the return figures of the desk's week and the weeks before it
// (GET /hubs/{id}/returns/figures): per week of sale the return rate and the net cost as small
// bar charts drawn here (inline SVG, hidden from screen readers: the table under them says the
// same), per product the rate and the reasons, the top reasons, and the CSV. Read when the
// desk opens a hub or day, and on Refresh.
import { html, svg, nothing } from "../../kit/html.js";
import { hubAndDate, send } from "./shared.js";
import { weekRange, bars, figuresCsvUrl, shortWeek } from "./returns-model.js";
import { loadReturnLists, returnListsSection } from "./returns-lists.js";

const returns = { data: null, error: "", key: "" };
const CHART = { width: 280, height: 64 };

export async function loadReturns(desk) {
  const { hubId, date } = hubAndDate(desk);
  const range = weekRange(date);
  if (hubId == null || !range) return;
  loadReturnLists(desk);
  const key = `${hubId}/${range.from}/${range.to}`;
  const q = `from=${encodeURIComponent(range.from)}&to=${encodeURIComponent(range.to)}`;
  const res = await send(desk, "GET", `/hubs/${hubId}/returns/figures?${q}`);
  if (res.ok) Object.assign(returns, { data: res.data, error: "", key });
  else returns.error = res.sentence;
  desk.rerender();
}

const percent = (rate, lang) => (rate == null ? "–" : new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 1 }).format(rate));
const euros = (cents, lang) => new Intl.NumberFormat(lang, { style: "currency", currency: "EUR" }).format((cents || 0) / 100);

function chart(weeks, value, label, kind) {
  const drawn = bars(weeks, value, CHART);
  const h = CHART.height + 14;
  return html`<figure class="returns-chart" data-chart=${kind}>
    <figcaption>${label}</figcaption>
    <svg viewBox="0 0 ${CHART.width} ${h}" width="100%" height=${h} aria-hidden="true" focusable="false">
      ${drawn.map((b) => svg`<rect class="returns-bar returns-bar-${kind}" x=${b.x} y=${b.y} width=${b.w} height=${b.h}></rect>
        <text class="returns-axis" x=${b.x + b.w / 2} y=${h - 2} text-anchor="middle">${shortWeek(b.week)}</text>`)}
    </svg></figure>`;
}

/** Per week of sale and product: the products that came back, their rate and the reasons given. */
function productTable(rows, t, lang) {
  const back = rows.filter((r) => r.returned > 0);
  if (!back.length) return nothing;
  const reasons = (r) => r.reasons.map((g) => `${t(`panel.ret.reason.${g.reason}`)} ${g.count}`).join(", ");
  return html`<table class="returns-table" data-returns-products>
    <caption>${t("panel.ret.productCaption")}</caption>
    <thead><tr><th scope="col">${t("panel.ret.week")}</th><th scope="col">${t("panel.ret.product")}</th>
      <th scope="col">${t("panel.ret.returnedOf")}</th><th scope="col">${t("panel.ret.rate")}</th>
      <th scope="col">${t("panel.ret.reasons")}</th></tr></thead>
    <tbody>${back.map((r) => html`<tr data-sku=${r.sku}><td title=${r.week}>${shortWeek(r.week)}</td>
      <th scope="row">${r.name}</th><td>${t("panel.ret.nOf", { n: r.returned, of: r.sold })}</td>
      <td>${percent(r.rate, lang)}</td><td class="returns-why">${reasons(r)}</td></tr>`)}</tbody>
  </table>`;
}

export function returnsPanel(desk) {
  const t = desk.t;
  const lang = desk.lang;
  const { hubId, date } = hubAndDate(desk);
  const range = weekRange(date);
  const d = returns.data;
  const weeks = d?.weeks ?? [];
  return html`<section class="panel panel-returns" aria-labelledby="panel-returns-h" data-panel="returns">
    <div class="panel-head"><h2 id="panel-returns-h">${t("panel.ret.title")}</h2>
      <button type="button" class="panel-btn" @click=${() => loadReturns(desk)}>${t("panel.fig.refresh")}</button></div>
    ${returns.error ? html`<p class="panel-error" role="alert">${returns.error}</p>` : nothing}
    ${d === null ? (returns.error ? nothing : html`<p class="panel-hint">${t("panel.loading")}</p>`) : html`
      <p class="panel-hint">${t("panel.ret.range", { from: d.from, to: d.to })}</p>
      ${chart(weeks, (w) => w.rate, t("panel.ret.rateChart"), "rate")}
      ${chart(weeks, (w) => w.netCents, t("panel.ret.costChart"), "cost")}
      <table class="returns-table" data-returns-table>
        <caption>${t("panel.ret.tableCaption")}</caption>
        <thead><tr><th scope="col">${t("panel.ret.week")}</th><th scope="col">${t("panel.ret.sold")}</th>
          <th scope="col">${t("panel.ret.returned")}</th><th scope="col">${t("panel.ret.rate")}</th>
          <th scope="col">${t("panel.ret.cost")}</th></tr></thead>
        <tbody>${weeks.map((w) => html`<tr data-week=${w.week}><th scope="row">${w.week}</th><td>${w.sold}</td>
          <td>${w.returned}</td><td>${percent(w.rate, lang)}</td><td>${euros(w.netCents, lang)}</td></tr>`)}</tbody>
      </table>
      ${productTable(d.byProduct ?? [], t, lang)}
      <h3 class="returns-sub">${t("panel.ret.topReasons")}</h3>
      ${d.topReasons.length ? html`<ol class="returns-reasons" data-reasons>${d.topReasons.map((r) => html`<li>
        ${t(`panel.ret.reason.${r.reason}`)}: ${r.count}</li>`)}</ol>` : html`<p class="panel-hint">${t("panel.ret.none")}</p>`}`}
    ${returnListsSection(desk)}
    <div class="panel-row">
      ${hubId != null && range ? html`<a class="panel-btn" data-returns-csv href=${figuresCsvUrl(hubId, range)} download>
        ${t("panel.ret.csv")}</a>` : nothing}
    </div>
  </section>`;
}
