// Logging in, shared by the courier app and the desk (pwa/static/kit/session.js), with a fake
// form, error line and server.
import { test } from "node:test";
import assert from "node:assert/strict";
import { roleIn, submitLogin, showLoginError, whoIsIn, checkSession, logoutRequest } from "../../pwa/static/kit/session.js";

const t = (key, params) => (params ? `${key}:${JSON.stringify(params)}` : key);
const problem = (res) => `problem ${res.status}`;

function fakeForm(username = "  anna ", password = "secret") {
  const button = { disabled: false };
  return {
    button,
    username: { value: username },
    password: { value: password },
    querySelector: (sel) => (sel === "button[type=submit]" ? button : null),
  };
}

/** A server answering ``answers`` in turn (an Error is thrown: no connection); records the calls. */
function fakeServer(...answers) {
  const calls = [];
  const request = async (method, path, opts = {}) => {
    calls.push({ method, path, body: opts.body });
    const a = answers.shift();
    if (a instanceof Error) throw a;
    return a;
  };
  return { calls, request };
}

const dispatcher = { id: 3, role: "dispatcher", username: "anna" };
const isDispatcher = roleIn("dispatcher", "admin");

test("roleIn lets in the app's roles only", () => {
  assert.equal(isDispatcher(dispatcher), true);
  assert.equal(isDispatcher({ role: "admin" }), true);
  assert.equal(isDispatcher({ role: "courier" }), false);
  assert.equal(isDispatcher(null), false);
});

test("a login posts the trimmed username, answers the user and empties the password", async () => {
  const form = fakeForm();
  const err = { hidden: false, textContent: "an old reason" };
  const server = fakeServer({ ok: true, status: 200, data: { user: dispatcher } });
  const seenDisabled = [];
  const request = async (...args) => { seenDisabled.push(form.button.disabled); return server.request(...args); };
  const user = await submitLogin(form, { err, allowed: isDispatcher, t, problem, request });
  assert.deepEqual(user, dispatcher);
  assert.deepEqual(server.calls, [{ method: "POST", path: "/auth/login", body: { username: "anna", password: "secret" } }]);
  assert.deepEqual(seenDisabled, [true]); // no second submit while waiting
  assert.equal(form.button.disabled, false);
  assert.equal(form.password.value, "");
  assert.equal(err.hidden, true);
  assert.equal(err.textContent, "");
});

test("a refused login answers null and says why: wrong password, the server's sentence, wrong role, no connection", async () => {
  const cases = [
    [{ ok: false, status: 401, data: {} }, "login.wrong"],
    [{ ok: false, status: 429, data: { detail: "Too many tries" } }, "problem 429"],
    [{ ok: true, status: 200, data: { user: { id: 4, role: "courier" } } }, 'login.wrongRole:{"role":"courier"}'],
    [new Error("offline"), "login.noConnection"],
  ];
  for (const [answer, sentence] of cases) {
    const form = fakeForm();
    const err = { hidden: true, textContent: "" };
    const { request } = fakeServer(answer);
    assert.equal(await submitLogin(form, { err, allowed: isDispatcher, t, problem, request }), null);
    assert.equal(err.textContent, sentence);
    assert.equal(err.hidden, false);
    assert.equal(form.password.value, "secret"); // kept to try again
    assert.equal(form.button.disabled, false);
  }
});

test("who is in: the user, ended on a 401 or another role, unknown offline or on a server error", async () => {
  assert.deepEqual(await whoIsIn({ allowed: isDispatcher, ...fakeServer({ ok: true, status: 200, data: dispatcher }) }),
    { status: "user", user: dispatcher });
  assert.deepEqual(await whoIsIn({ ...fakeServer({ ok: false, status: 401, data: {} }) }), { status: "ended" });
  assert.deepEqual(await whoIsIn({ allowed: isDispatcher, ...fakeServer({ ok: true, status: 200, data: { role: "courier" } }) }),
    { status: "ended" });
  assert.deepEqual(await whoIsIn({ ...fakeServer(new Error("offline")) }), { status: "unknown" });
  assert.deepEqual(await whoIsIn({ ...fakeServer({ ok: false, status: 503, data: null }) }), { status: "unknown" });
});

test("checking the session after a close calls back: ended, or the user as the server knows them", async () => {
  const seen = [];
  const cb = { onEnded: () => seen.push("ended"), onUser: (u) => seen.push(u.id) };
  await checkSession({ ...cb, ...fakeServer({ ok: false, status: 401, data: {} }) });
  await checkSession({ ...cb, ...fakeServer({ ok: true, status: 200, data: dispatcher }) });
  await checkSession({ ...cb, ...fakeServer(new Error("offline")) });
  await checkSession({ onEnded: cb.onEnded, ...fakeServer({ ok: true, status: 200, data: dispatcher }) }); // no onUser
  assert.deepEqual(seen, ["ended", 3]);
});

test("logging out posts once, and offline does not throw", async () => {
  const server = fakeServer({ ok: true, status: 204, data: null });
  await logoutRequest(server);
  assert.deepEqual(server.calls, [{ method: "POST", path: "/auth/logout", body: {} }]);
  await logoutRequest(fakeServer(new Error("offline")));
});

test("the error line hides without a reason", () => {
  const err = { hidden: false, textContent: "x" };
  showLoginError(err);
  assert.deepEqual(err, { hidden: true, textContent: "" });
  showLoginError(err, "Your session has ended; log in again.");
  assert.deepEqual(err, { hidden: false, textContent: "Your session has ended; log in again." });
});
