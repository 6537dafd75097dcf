// The kit's Web Push: what to show, and the steps from a tap to a kept subscription.
import { test } from "node:test";
import assert from "node:assert/strict";
import { enablePush, keyBytes, pushState } from "../../pwa/static/kit/push.js";

function fakeEnv({ permission = "default", answer = "granted", subscribed = false } = {}) {
  const calls = [];
  let sub = subscribed ? fakeSub() : null;
  const reg = {
    pushManager: {
      getSubscription: async () => sub,
      subscribe: async (opts) => { calls.push(["subscribe", opts]); sub = fakeSub(); return sub; },
    },
  };
  const env = {
    navigator: { serviceWorker: { getRegistration: async () => reg, ready: Promise.resolve(reg) } },
    PushManager: function PushManager() {},
    Notification: {
      permission,
      requestPermission: async () => { calls.push(["ask"]); env.Notification.permission = answer; return answer; },
    },
  };
  return { env, calls };
}

function fakeSub() {
  return { toJSON: () => ({ endpoint: "https://push.example/abc", expirationTime: null, keys: { p256dh: "p".repeat(30), auth: "a".repeat(12) } }) };
}

function fakeFetch(answers) {
  const sent = [];
  globalThis.fetch = async (path, init) => {
    sent.push([init.method, path, init.body ? JSON.parse(init.body) : null]);
    const [status, body] = answers[`${init.method} ${path}`];
    return { status, ok: status < 400, text: async () => JSON.stringify(body) };
  };
  return sent;
}

test("what to show: unsupported, denied, ask, on", async () => {
  assert.equal(await pushState("/courier/", {}), "unsupported");
  assert.equal(await pushState("/courier/", fakeEnv({ permission: "denied" }).env), "denied");
  assert.equal(await pushState("/courier/", fakeEnv({ permission: "default" }).env), "ask");
  assert.equal(await pushState("/courier/", fakeEnv({ permission: "granted" }).env), "ask"); // allowed, not subscribed
  assert.equal(await pushState("/courier/", fakeEnv({ permission: "granted", subscribed: true }).env), "on");
});

test("a tap asks, subscribes with the server's key and keeps the subscription with the user", async () => {
  const sent = fakeFetch({ "GET /push/key": [200, { publicKey: "AQID" }], "POST /push/subscriptions": [201, { endpoint: "x" }] });
  const { env, calls } = fakeEnv();
  assert.deepEqual(await enablePush("/courier/", env), { state: "on" });
  assert.deepEqual(calls[0], ["ask"]);
  assert.deepEqual([...calls[1][1].applicationServerKey], [1, 2, 3]);
  assert.equal(calls[1][1].userVisibleOnly, true);
  assert.deepEqual(sent.map(([m, p]) => `${m} ${p}`), ["GET /push/key", "POST /push/subscriptions"]);
  assert.equal(sent[1][2].endpoint, "https://push.example/abc");
});

test("a refusal stops before subscribing; a server refusal comes back to be shown", async () => {
  const sent = fakeFetch({ "GET /push/key": [200, { publicKey: "AQID" }], "POST /push/subscriptions": [422, { detail: "That push service is not allowed." }] });
  const denied = fakeEnv({ answer: "denied" });
  assert.deepEqual(await enablePush("/courier/", denied.env), { state: "denied" });
  assert.equal(denied.calls.length, 1);
  assert.equal(sent.length, 0);
  const out = await enablePush("/courier/", fakeEnv().env);
  assert.equal(out.state, "failed");
  assert.equal(out.res.status, 422);
});

test("a base64url key without padding becomes its bytes", () => {
  assert.deepEqual([...keyBytes("_-8")], [255, 239]);
  assert.deepEqual([...keyBytes("AQIDBA")], [1, 2, 3, 4]);
});
