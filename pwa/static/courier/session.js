// Logging in and out, and noticing that the server ended the session.
import { request } from "../kit/api.js";
import { state, queue, $, t, saveLocal, forgetLocal, problemText, hooks } from "./store.js";
import { live, fetchToday, replay } from "./sync.js";
import { tracker, wake } from "./devices.js";
import { ask } from "./dialog.js";
import { html } from "../kit/html.js";

export const isCourier = (user) => user && (user.role === "courier" || user.role === "admin");

export async function checkSession() {
  try {
    const res = await request("GET", "/auth/me");
    if (res.status === 401) sessionEnded();
    else if (res.ok && res.data) {
      state.user = res.data;
      saveLocal();
      hooks.render();
    }
  } catch { /* offline */ }
}

export function sessionEnded() {
  if (!state.user && !$("#login").hidden) return;
  live.stop();
  showLogin(t("login.sessionEnded"));
}

export function showLogin(reason) {
  $("#main").hidden = true;
  $("#tabs").hidden = true;
  $("#login").hidden = false;
  const err = $("#login-error");
  err.hidden = !reason;
  err.textContent = reason || "";
  if (state.user?.username) $("#username").value = state.user.username;
  hooks.render();
}

export async function login(ev) {
  ev.preventDefault();
  const form = ev.target;
  const err = $("#login-error");
  err.hidden = true;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const res = await request("POST", "/auth/login", {
      body: { username: form.username.value.trim(), password: form.password.value },
    });
    if (!res.ok) {
      err.textContent = res.status === 401 ? t("login.wrong") : problemText(res);
      err.hidden = false;
      return;
    }
    const user = res.data.user;
    if (!isCourier(user)) {
      err.textContent = t("login.wrongRole", { role: user.role });
      err.hidden = false;
      return;
    }
    if (state.user && state.user.id !== user.id) await forgetEverything();
    state.user = user;
    form.password.value = "";
    saveLocal();
    startSession();
  } catch {
    err.textContent = t("login.noConnection");
    err.hidden = false;
  } finally {
    button.disabled = false;
  }
}

export async function logout() {
  const n = state.pending.length;
  const ok = await ask(
    n ? html`<p><strong>${t("logout.unsent", { n })}</strong></p><p>${t("logout.unsentHint", { n })}</p>`
      : html`<p>${t("logout.confirm")}</p>`,
    [["cancel", t("logout.stay")], ["ok", n ? t("logout.anyway") : t("logout.ok"), "danger"]],
  );
  if (ok !== "ok") return;
  try { await request("POST", "/auth/logout", { body: {} }); } catch { /* offline: the cookie expires */ }
  await forgetEverything();
  showLogin();
}

async function forgetEverything() {
  live.stop();
  tracker.stop();
  await wake.disable();
  await queue.clear();
  state.pending = [];
  state.user = null;
  state.day = null;
  state.seq = null;
  state.lastSummary = null;
  state.inbox = [];
  state.dismissed = [];
  hooks.renderMessages();
  forgetLocal();
  if ("caches" in window) {
    for (const name of await caches.keys()) if (name.startsWith("laadbak-api")) await caches.delete(name);
  }
}

export function startSession() {
  $("#login").hidden = true;
  $("#main").hidden = false;
  live.start();
  fetchToday();
  replay();
  hooks.route();
}
