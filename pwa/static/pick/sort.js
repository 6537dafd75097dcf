// The sort station screen of the picker app: choose a picked pick-then-sort batch → scan
// each item → put it into the tote shown BIG (an order without a tote asks for an empty
// one first) → every order's tote then starts its packing ("Pack").
// API: docs/api.md "Sorting"; flow: docs/warehouse.md "Sorting". app.js owns the screen
// switch, the alert line and the scanner; this module the sorting state and its view.
import { html } from "../kit/html.js";
import { createSortFlow, sortPhase } from "./sort-model.js";

export { sortPhase };

export function createSorting(options) {
  const { t } = options;
  const flow = createSortFlow(options);
  const ss = flow.state;

  function batchesView() {
    if (ss.batches === null) return "";
    if (!ss.batches.length) return html`<p class="empty">${t("sort.none")}</p>`;
    return html`<ul class="batches">
      ${ss.batches.map((b) => html`<li class="batch-item">
        <button class="btn primary big" type="button" data-sort-batch=${b.batchId} @click=${() => flow.start(b.batchId)}>
          ${t(b.sortId ? "sort.continue" : "sort.take", { number: b.number })}</button>
        <p class="sub">${t("sort.summary", { cutoff: b.cutoff, n: b.orders })}</p>
      </li>`)}
    </ul>`;
  }

  function ordersView(job) {
    return html`<ul class="pack-items">
      ${job.orders.map((o) => html`<li class=${o.complete ? "done" : ""} data-order=${o.orderId}>
        <span class="pack-name">${t("sort.orderLine", { order: o.orderId, tote: o.tote ?? "—" })}</span>
        <span class="pack-count">${t("sort.left", { n: o.left })}</span>
      </li>`)}
    </ul>`;
  }

  function stepView(phase) {
    if (phase === "tote") {
      return html`<p class="instruction">${t("sort.needTote", { order: ss.needTote })}</p>
        <p id="sort-tote" class="big-code">T-…</p>`;
    }
    if (phase === "done") return html`<p class="instruction">${t("sort.done")}</p>`;
    if (!ss.placed) return html`<p class="instruction">${t("sort.scanItem")}</p>`;
    return html`<p class="instruction">${t("sort.putInto", { name: ss.placed.name, order: ss.placed.orderId })}</p>
      <p id="sort-tote" class="big-code">${ss.placed.tote}</p>
      <p class="sub">${ss.placed.left ? t("sort.orderLeft", { n: ss.placed.left }) : t("sort.orderComplete")}</p>`;
  }

  function view(back) {
    const phase = sortPhase(ss);
    return html`
      <div class="batch-head">
        <button class="btn ghost" type="button" @click=${() => { flow.reset(); back(); }}>${t("batch.back")}</button>
        <h1>${t("sort.title")}</h1>
      </div>
      <div id="sort-step" data-phase=${phase}>
        ${phase === "batch" ? batchesView() : stepView(phase)}
        ${ss.job ? html`<p class="sub">${t("sort.unitsLeft", { n: ss.job.left })}</p>${ordersView(ss.job)}` : ""}
      </div>`;
  }

  return { onScan: flow.onScan, load: flow.load, view, reset: flow.reset, state: ss };
}
