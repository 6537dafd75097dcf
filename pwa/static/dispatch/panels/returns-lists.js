// The returns desk's task lists on the dispatcher's desk, the supervisor's view: who has which
// list (GET /returns-desk/lists, by worker and template) and a hand-over to a returns worker who
// is on (GET /returns-desk/workers; POST /returns-desk/items/{id}/worker for each item of the
// batch). Read with the Returns panel and on its Refresh.
import { html, nothing } from "../../kit/html.js";
import { problemSentence, networkSentence } from "../../kit/api.js";
import { uuid } from "../../kit/queue.js";
import { send } from "./shared.js";

const lists = { batches: [], workers: [], error: "", busy: false };

export async function loadReturnLists(desk) {
  const [b, w] = await Promise.all([send(desk, "GET", "/returns-desk/lists"), send(desk, "GET", "/returns-desk/workers")]);
  lists.error = !b.ok ? b.sentence : !w.ok ? w.sentence : "";
  if (b.ok) lists.batches = b.data;
  if (w.ok) lists.workers = w.data;
  desk.rerender();
}

/** Every item of the batch to ``worker``; the first refusal is shown as the server's sentence. */
async function handOver(desk, items, worker) {
  if (!worker || lists.busy) return;
  lists.busy = true;
  for (const l of items) {
    let res;
    try {
      res = await desk.api("POST", `/returns-desk/items/${l.itemId}/worker`, { body: { worker }, key: uuid() });
    } catch {
      res = null;
    }
    if (!res?.ok) {
      lists.error = res ? problemSentence(res, desk.t, desk.lang) : networkSentence(desk.t);
      break;
    }
  }
  lists.busy = false;
  await loadReturnLists(desk);
}

export function returnListsSection(desk) {
  const t = desk.t;
  const workers = lists.workers;
  return html`<h3 class="returns-sub">${t("panel.retl.title")}</h3>
    ${lists.error ? html`<p class="panel-error" role="alert">${lists.error}</p>` : nothing}
    ${workers.length ? nothing : html`<p class="panel-hint">${t("panel.retl.noneOn")}</p>`}
    ${lists.batches.length === 0 ? html`<p class="panel-hint">${t("panel.retl.none")}</p>` : html`
      <ul class="returns-lists" data-return-lists>${lists.batches.map((b, k) => html`<li data-return-batch=${k}>
        <span>${b.worker || t("panel.retl.nobody")}: ${b.items.map((l) => l.sku).join(", ")}</span>
        ${workers.length ? html`<label class="visually-hidden" for=${`retl-${k}`}>${t("panel.retl.to")}</label>
          <select id=${`retl-${k}`} data-hand-to=${k}>${workers.map((w) => html`<option value=${w.username}
            ?selected=${w.username === b.worker}>${t("panel.retl.worker", { name: w.displayName || w.username, n: w.openSteps })}</option>`)}
          </select>
          <button type="button" class="panel-btn" data-hand-over=${k} ?disabled=${lists.busy}
            @click=${(e) => handOver(desk, b.items, e.target.previousElementSibling.value)}>${t("panel.retl.go")}</button>` : nothing}
      </li>`)}</ul>`}`;
}
