// The packing screen of the picker app: scan a tote → scan each item (checked by the
// server) → the box (the suggestion big, another may be chosen) → the shop's options
// confirmed → close the parcel → print its label (the PDF) → the next tote.
// API: docs/api.md "Packing"; flow: docs/warehouse.md "Packing". app.js owns the screen
// switch, the alert line and the scanner; this module the packing state and its view.
import { html } from "../kit/html.js";
import { createPackFlow, packPhase } from "./pack-model.js";

export { packPhase };

export function createPacking(options) {
  const { t } = options;
  const flow = createPackFlow(options);
  const ps = flow.state;
  const { pick, toggle, next, close, reset } = flow;

  function itemsView(job) {
    return html`<ul class="pack-items">
      ${job.items.map((i) => html`<li class=${i.scanned >= i.quantity ? "done" : ""} data-sku=${i.sku}>
        <span class="pack-name">${i.name}</span>
        <span class="pack-count">${t("pack.count", { n: i.scanned, total: i.quantity })}</span>
      </li>`)}
    </ul>`;
  }

  function boxView(job) {
    const steps = job.options.steps;
    return html`
      <p class="instruction">${t("pack.box")}</p>
      <p id="pack-box" class="big-code">${t("pack.boxBig", { box: ps.box })}</p>
      ${job.suggestedBox ? html`<p class="sub">${t("pack.suggested", { box: job.suggestedBox.code })}</p>` : ""}
      <div class="box-choice" role="group" aria-label=${t("pack.chooseBox")}>
        ${job.boxes.map((b) => html`<button class="btn" type="button" data-box=${b.code}
          aria-pressed=${ps.box === b.code ? "true" : "false"} @click=${() => pick(b.code)}>${b.code}</button>`)}
      </div>
      ${steps.length ? html`
        <p class="instruction">${t("pack.options", { shop: job.shops.join(", ") })}</p>
        ${job.options.cardMessage ? html`<p class="card-message">“${job.options.cardMessage}”</p>` : ""}
        <div class="option-list" role="group" aria-label=${t("pack.optionsLabel")}>
          ${steps.map((s) => html`<button class="btn big" type="button" data-option=${s}
            aria-pressed=${ps.applied.has(s) ? "true" : "false"} @click=${() => toggle(s)}>
            ${ps.applied.has(s) ? "✓ " : ""}${t(`pack.option.${s}`)}</button>`)}
        </div>` : ""}
      <button id="pack-close" class="btn primary big" type="button" @click=${close}>${t("pack.close")}</button>`;
  }

  function doneView(job) {
    return html`
      <p class="instruction">${t("pack.done", { barcode: job.parcel.barcode })}</p>
      <a id="pack-label" class="btn primary big link-btn" href=${job.parcel.labelUrl} target="_blank" rel="noopener">
        ${t("pack.print")}</a>
      <p class="sub">${t(`pack.dispatch.${job.dispatch ?? "with_the_plan"}`)}</p>
      <button id="pack-next" class="btn big" type="button" @click=${next}>${t("pack.next")}</button>`;
  }

  function view(back) {
    const job = ps.job;
    const phase = packPhase(job);
    return html`
      <div class="batch-head">
        <button class="btn ghost" type="button" @click=${() => { reset(); back(); }}>${t("batch.back")}</button>
        <h1>${t("pack.title")}</h1>
      </div>
      <div id="pack-step" data-phase=${phase}>
        ${phase === "tote" ? html`<p class="instruction">${t("pack.scanTote")}</p>
          <p class="big-code">T-…</p>` : ""}
        ${job ? html`<p class="sub">${t("pack.order", { order: job.order?.reference ?? "", name: job.order?.customerName ?? "" })}
          · ${job.totes.join(", ")}</p>` : ""}
        ${phase === "items" ? html`<p class="instruction">${t("pack.scanItems")}</p>` : ""}
        ${job && phase !== "done" ? itemsView(job) : ""}
        ${phase === "box" ? boxView(job) : ""}
        ${phase === "done" ? doneView(job) : ""}
      </div>`;
  }

  return { onScan: flow.onScan, view, reset, state: ps };
}
