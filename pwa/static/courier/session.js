// Logging in and out, and noticing that the server ended the session.
import { roleIn, submitLogin, showLoginError, checkSession as kitCheckSession, logoutRequest } from "../kit/session.js";
import { state, queue, $, t, saveLocal, forgetLocal, problemText, hooks } from "./store.js";
import { live, fetchToday, replay } from "./sync.js";
import { tracker, wake } from "./devices.js";
import { ask } from "./dialog.js";
import { html } from "../kit/html.js";

export const isCourier = roleIn("courier", "admin");

export async function checkSession() {
  await kitCheckSession({
    onEnded: sessionEnded,
    onUser: (user) => {
      state.user = user;
      saveLocal();
      hooks.render();
    },
  });
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
  showLoginError($("#login-error"), reason);
  if (state.user?.username) $("#username").value = state.user.username;
  hooks.render();
}

export async function login(ev) {
  ev.preventDefault();
  const user = await submitLogin(ev.target, { err: $("#login-error"), allowed: isCourier, t, problem: problemText });
  if (!user) return;
  if (state.user && state.user.id !== user.id) await forgetEverything();
  state.user = user;
  saveLocal();
  startSession();
}

export async function logout() {
  const n = state.pending.length;
  const ok = await ask(
    n ? html`<p><strong>${t("logout.unsent", { n })}</strong></p><p>${t("logout.unsentHint", { n })}</p>`
      : html`<p>${t("logout.confirm")}</p>`,
    [["cancel", t("logout.stay")], ["ok", n ? t("logout.anyway") : t("logout.ok"), "danger"]],
  );
  if (ok !== "ok") return;
  await logoutRequest();
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
