// The pickup point's Returns tab: a customer's return (its R-code scanned or typed) is shown
// with its expected items and accepted into the point's cart for the courier. Accepting needs
// the server (the return is checked against this point), so it is not queued offline.
// API: docs/api.md "Pickup point"; the cart: docs/point.md "Returns".
import { html } from "../kit/html.js";
import { request } from "../kit/api.js";
import { uuid } from "../kit/queue.js";
import { returnCode } from "./model.js";

/** The tab's view and its scan handler, on the app's state and helpers. */
export function returnsTab({ state, t, sentence, finish, loadDay, showLogin, scanField }) {
  function returnsView() {
    const r = state.ret;
    const cart = state.day?.returnsCart ?? [];
    return html`
      <h1>${t("ret.title")}</h1>
      <p class="sub">${t("ret.hint")}</p>
      ${scanField()}
      <form class="card" id="ret-form" @submit=${(ev) => { ev.preventDefault(); show(ev.target.elements.code.value); }}>
        <label><span>${t("ret.code")}</span>
          <input name="code" id="ret-code" autocomplete="off" autocapitalize="characters" maxlength="16"></label>
        <button class="btn big" type="submit">${t("ret.show")}</button>
      </form>
      ${r ? html`<div class="card" id="ret-shown"><p class="big-code">${r.code}</p>
        <h2>${t("ret.items")}</h2>
        <ul>${r.lines.map((l) => html`<li>${l.quantity} × ${l.sku}</li>`)}</ul>
        <button class="btn primary big" type="button" id="ret-accept" @click=${() => accept(r.code)}>
          ${t("ret.accept", { code: r.code })}</button></div>` : ""}
      <h2>${t("ret.cart")}</h2>
      ${cart.length === 0 ? html`<p class="empty">${t("ret.cartNone")}</p>` : html`
        <ul class="parcels" id="ret-cart">${cart.map((c) => html`<li><span class="big-code">${c.code}</span>
          <span class="sub">${c.orderNumber}</span></li>`)}</ul>`}`;
  }

  async function show(text) {
    const code = returnCode(text);
    if (!code) return finish("error", t("ret.notCode", { code: String(text).trim() }));
    try {
      const res = await request("GET", `/point/returns/${encodeURIComponent(code)}`);
      if (res.status === 401) return showLogin(t("login.sessionEnded"));
      state.ret = res.ok ? res.data : null;
      return finish(res.ok ? "ok" : "error", res.ok ? "" : sentence(res));
    } catch {
      return finish("error", t("net.offline"));
    }
  }

  /** Accepting needs the server (the return is checked against this point), one key per tap. */
  async function accept(code) {
    let res;
    try {
      res = await request("POST", "/point/returns/hand-in", { body: { code }, key: uuid() });
    } catch {
      return finish("error", t("net.offline"));
    }
    if (res.status === 401) return showLogin(t("login.sessionEnded"));
    if (res.ok) state.ret = null;
    await loadDay();
    return finish(res.ok ? "ok" : "error", res.ok ? t("ret.done", { code }) : sentence(res));
  }

  return { view: returnsView, show };
}
