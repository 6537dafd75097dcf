// The returns desk's task screens: the batches on the worker's hands, and one batch worked
// step-major (step 1 of every item, then step 2, …) — one step at a time with its pictogram, the
// item it is for shown big each time, then each item's final check and its put-away. Views only:
// the actions and the state are app.js's, handed in once (``taskViews``).
import { html } from "../kit/html.js";
import { REGRADES, batchScreen, clock, elapsed, pictogram, spoken } from "./model.js";

/** The views, bound to the app's state, translations and actions. */
export function taskViews({ state, i18n, back, act }) {
  const t = i18n.t;

  function tasksView() {
    const whose = (b) => (b.mine ? t("tasks.mine") : b.worker ? t("tasks.theirs", { name: b.worker }) : t("tasks.nobody"));
    return html`${back("home")}<h1>${t("tasks.title")}</h1>
      ${state.queue.length === 0 ? html`<p class="empty">${t("tasks.empty")}</p>` : html`<ul class="items">
        ${state.queue.map((b, k) => {
          const s = batchScreen(b);
          const skus = [...new Set(b.items.map((l) => l.sku))].join(", ");
          return html`<li><p class="whose">${whose(b)}</p>
            <button class="btn big" type="button" data-batch=${k} @click=${() => act.openBatch(b)}>
              ${s.phase === "step" ? pictogram(s.step.pictogram) : "✅"} ${t("tasks.batch", { n: b.items.length, skus })}</button>
            ${b.worker && !b.mine ? html`<button class="btn" type="button" data-take=${k}
              @click=${() => act.takeOver(b.items)}>${t("tasks.takeOver")}</button>` : ""}</li>`;
        })}
      </ul>`}`;
  }

  /** Which item this is: a big number (its place in the batch), its SKU and its item number. */
  function itemBadge(s) {
    return html`<div class="item-badge" id="item-badge" data-item=${s.list.itemId}>
      <span class="item-number" aria-hidden="true">${s.index + 1}</span>
      <span class="item-label">${t("item.of", { i: s.index + 1, total: s.total })}<br>
        <strong class="item-sku">${s.list.sku}</strong> · #${s.list.itemId}</span></div>`;
  }

  function taskView() {
    const s = batchScreen(state.batch);
    if (s.phase === "step" && s.list.worker && s.list.worker !== state.user.username) {
      return html`<div class="task">${itemBadge(s)}
        <p class="question">${t("task.notYours", { name: s.list.worker })}</p>
        <button id="take-over" class="btn done" type="button" @click=${() => act.takeOver(state.batch.items)}>
          ${t("tasks.takeOver")}</button>${back("tasks")}</div>`;
    }
    if (s.phase === "step") {
      const word = spoken(s.step, i18n.lang);
      const secs = s.step.state === "pending" ? 0 : elapsed(s.list.startedAt, s.list.now, Date.now() - state.fetchedAt);
      return html`<div class="task">${itemBadge(s)}
        <p class="step-count">${t("step.of", { n: s.n, total: s.steps })}</p>
        <p class="pictogram" role="img" aria-label=${word}>${pictogram(s.step.pictogram)}</p>
        <p id="step-word" class="step-word">${word}</p>
        <p class="timer" aria-label=${t("step.timer")}><span id="timer">${clock(secs)}</span></p>
        <button id="read-aloud" class="btn" type="button" @click=${() => act.readAloud(word)}>🔊 ${t("step.readAloud")}</button>
        ${s.step.state === "help" ? html`<p class="question">${t("step.helpCalled")}</p>` : ""}
        <div class="task-actions">${s.actions.map((a) => html`<button class=${`btn ${a}`} type="button"
          data-action=${a} @click=${() => act.stepEvent(s.list.itemId, s.n, a)}>${t(`step.${a}`)}</button>`)}</div>
        ${back("tasks")}</div>`;
    }
    if (s.phase === "check") {
      const word = s.list.qualityCheck.text[i18n.lang] || s.list.qualityCheck.text.en;
      return html`<div class="task">${itemBadge(s)}
        <p class="pictogram" role="img" aria-label=${word}>${pictogram("check-badge")}</p>
        <p class="step-word">${t("check.title")}</p>
        <button id="read-aloud" class="btn" type="button" @click=${() => act.readAloud(word)}>🔊 ${t("step.readAloud")}</button>
        <div class="task-actions">
          <button class="btn done" type="button" data-action="pass" @click=${() => act.finalCheck(s.list, true)}>${t("check.pass")}</button>
          <button class="btn problem" type="button" data-action="fail" @click=${() => act.finalCheck(s.list, false)}>${t("check.fail")}</button>
        </div></div>`;
    }
    if (s.phase === "finish") return finishView(s);
    const done = state.finished.map((r) => t("finish.done", r)).join(" · ");
    return html`<div class="task"><p class="pictogram" role="img" aria-label=${t("sent")}>✅</p>
      <p id="finished" class="step-word">${done}</p>${back("tasks")}</div>`;
  }

  /** Put away: a repaired item's grade after the repair (big A / B / C), the bin for a stocked one. */
  function finishView(s) {
    const title = s.bin ? t("finish.title") : t(`disp.${s.list.disposition}`);
    return html`<div class="task">${itemBadge(s)}
      <p class="pictogram" role="img" aria-label=${title}>${pictogram("box")}</p>
      <p class="step-word">${title}</p>
      ${s.regrade ? html`<p class="question" id="regrade-label">${t("finish.regrade")}</p>
        <div class="regrades" role="group" aria-labelledby="regrade-label">${REGRADES.map((g) => html`<button
          class="btn big" type="button" data-regrade=${g} aria-pressed=${String(state.regrade === g)}
          @click=${() => { state.regrade = g; act.draw(); }}>${g}</button>`)}</div>` : ""}
      ${s.bin ? html`<label><span>${t("finish.bin")}</span><input id="bin" data-scan-field autocomplete="off"
        autocapitalize="characters"></label>` : ""}
      <button id="finish" class="btn done" type="button" @click=${() => act.finish(s)}>${t("finish.go")}</button></div>`;
  }

  return { tasksView, taskView };
}
