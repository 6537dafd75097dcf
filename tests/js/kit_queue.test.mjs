// The offline queue (pwa/static/kit/queue.js): outcomes of a replay, keys, and the store itself.
import { test } from "node:test";
import assert from "node:assert/strict";
import { replayOutcome, newAction, uuid, openQueue } from "../../pwa/static/kit/queue.js";
import { fakeIndexedDB } from "./fake_idb.mjs";

test("the server's answer decides: keep, retry, log in again or drop", () => {
  assert.equal(replayOutcome(200), "done");
  assert.equal(replayOutcome(201), "done");
  assert.equal(replayOutcome(401), "login");
  for (const s of [500, 502, 503, 408, 429]) assert.equal(replayOutcome(s), "retry");
  for (const s of [400, 404, 409, 422]) assert.equal(replayOutcome(s), "refused");
});

test("every action gets its own idempotency key", () => {
  const a = newAction("arrive", { path: "/x" }, { uuid, now: () => "t" });
  const b = newAction("arrive", { path: "/x" }, { uuid, now: () => "t" });
  assert.match(a.key, /^[0-9a-f-]{36}$/);
  assert.notEqual(a.key, b.key);
  assert.equal(a.method, "POST");
});

test("uuid without randomUUID is a v4 UUID", () => {
  const c = { getRandomValues: (b) => b.fill(255) };
  assert.match(uuid(c), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test("the store keeps actions in order and removes them by number", async () => {
  const q = openQueue("test", fakeIndexedDB());
  const a = await q.add({ key: "a" });
  const b = await q.add({ key: "b" });
  assert.deepEqual((await q.all()).map((x) => x.key), ["a", "b"]);
  await q.put({ ...a, photoId: 7 });
  await q.remove(b.n);
  assert.deepEqual(await q.all(), [{ key: "a", n: a.n, photoId: 7 }]);
  await q.clear();
  assert.deepEqual(await q.all(), []);
});
