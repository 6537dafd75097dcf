// Logging in, shared by the worker apps (courier app, dispatcher's desk): the login form's
// submit, the error line under it, the session check after a close, logging out. Each
// app says which roles may use it, words the sentences in its own catalogue (login.wrong,
// login.wrongRole, login.noConnection) and decides what follows (start its day, forget
// its queue). DOM-light on purpose: a form, an error element and a request function, so
// node --test runs it with plain objects (tests/js/kit_session.test.mjs).
import { request as kitRequest } from "./api.js";

/** A check ``user → bool`` that lets in the given roles (``roleIn("courier", "admin")``). */
export const roleIn = (...roles) => (user) => Boolean(user && roles.includes(user.role));

/** Show ``reason`` in the login screen's error line (hidden when there is none). */
export function showLoginError(err, reason = "") {
  err.hidden = !reason;
  err.textContent = reason || "";
}

/**
 * The login form was submitted: POST /auth/login with its username (trimmed) and password,
 * the submit button disabled meanwhile. Answers the user, or null with the reason shown
 * in ``err``: a wrong password, the server's sentence (``problem(res)``), a role this app
 * is not for, no connection. The password field is emptied on success.
 */
export async function submitLogin(form, { err, allowed, t, problem, request = kitRequest }) {
  showLoginError(err);
  const button = form.querySelector?.("button[type=submit]");
  if (button) button.disabled = true;
  try {
    const res = await request("POST", "/auth/login", {
      body: { username: form.username.value.trim(), password: form.password.value },
    });
    if (!res.ok) {
      showLoginError(err, res.status === 401 ? t("login.wrong") : problem(res));
      return null;
    }
    const user = res.data?.user;
    if (!allowed(user)) {
      showLoginError(err, t("login.wrongRole", { role: user?.role ?? "?" }));
      return null;
    }
    form.password.value = "";
    return user;
  } catch {
    showLoginError(err, t("login.noConnection"));
    return null;
  } finally {
    if (button) button.disabled = false;
  }
}

/**
 * Who is logged in (GET /auth/me): ``{status: "user", user}``, ``{status: "ended"}`` on a
 * 401, ``{status: "unknown"}`` offline or on any other answer. ``allowed`` (optional) turns a
 * user of another role into "ended": this app cannot use that session.
 */
export async function whoIsIn({ allowed = () => true, request = kitRequest } = {}) {
  try {
    const res = await request("GET", "/auth/me");
    if (res.status === 401) return { status: "ended" };
    if (res.ok && res.data) return allowed(res.data) ? { status: "user", user: res.data } : { status: "ended" };
  } catch { /* offline */ }
  return { status: "unknown" };
}

/** After the stream closed in doubt: ``onEnded()`` if the server ended the session, ``onUser(user)`` if it answers one. */
export async function checkSession({ onEnded, onUser, request = kitRequest }) {
  const who = await whoIsIn({ request });
  if (who.status === "ended") onEnded();
  else if (who.status === "user") onUser?.(who.user);
  return who;
}

/** POST /auth/logout; offline the cookie simply expires. */
export async function logoutRequest({ request = kitRequest } = {}) {
  try {
    await request("POST", "/auth/logout", { body: {} });
  } catch { /* offline: the cookie expires */ }
}
