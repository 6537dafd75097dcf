// The resume rules of the live-stream client (pwa/static/kit/stream.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  streamUrl, backoffMs, isNewEvent, isStaleRoute, heartbeatAction, afterClose, MAX_BACKOFF_MS, SESSION_ENDED,
} from "../../pwa/static/kit/stream.js";

test("resume asks for what came after the last seq; no seq asks for a snapshot", () => {
  const loc = { protocol: "https:", host: "x.nl" };
  assert.equal(streamUrl(loc, "/ws/courier", 41), "wss://x.nl/ws/courier?after=41");
  assert.equal(streamUrl(loc, "/ws/courier", 0), "wss://x.nl/ws/courier?after=0");
  assert.equal(streamUrl({ protocol: "http:", host: "h:8000" }, "/ws/hub", null), "ws://h:8000/ws/hub");
});

test("events already applied are skipped after a resume", () => {
  assert.equal(isNewEvent(10, 10), false);
  assert.equal(isNewEvent(10, 9), false);
  assert.equal(isNewEvent(10, 11), true);
  assert.equal(isNewEvent(null, 1), true);
});

test("a route with a lower version on the same day is old news", () => {
  assert.equal(isStaleRoute({ date: "2026-12-04", version: 3 }, { date: "2026-12-04", version: 2 }), true);
  assert.equal(isStaleRoute({ date: "2026-12-04", version: 3 }, { date: "2026-12-04", version: 3 }), false);
  assert.equal(isStaleRoute({ date: "2026-12-03", version: 3 }, { date: "2026-12-04", version: 1 }), false);
  assert.equal(isStaleRoute(null, { date: "2026-12-04", version: 1 }), false);
});

test("backoff doubles from 0.5 s with jitter and stops at 10 s", () => {
  assert.equal(backoffMs(0, () => 0.5), 500);
  assert.equal(backoffMs(1, () => 0.5), 1000);
  assert.equal(backoffMs(0, () => 0), 375);
  assert.equal(backoffMs(20, () => 0.999), MAX_BACKOFF_MS);
});

test("quiet connections are pinged, silent ones dropped", () => {
  assert.equal(heartbeatAction(5_000), "wait");
  assert.equal(heartbeatAction(25_000), "ping");
  assert.equal(heartbeatAction(50_000), "drop");
});

test("4401 sends to the login; repeated silent failures check the session; else reconnect", () => {
  assert.equal(SESSION_ENDED, 4401);
  assert.equal(afterClose({ code: 4401, failuresBeforeMessage: 0 }, true), "login");
  assert.equal(afterClose({ code: 1006, failuresBeforeMessage: 3 }, true), "check-session");
  assert.equal(afterClose({ code: 1006, failuresBeforeMessage: 3 }, false), "reconnect");
  assert.equal(afterClose({ code: 1006, failuresBeforeMessage: 1 }, true), "reconnect");
});

test("a long message in parts is read whole; short ones as they come", async () => {
  const { MessageReader } = await import("../../pwa/static/kit/stream.js");
  const reader = new MessageReader();
  assert.deepEqual(reader.take('{"type":"ping"}'), { type: "ping" });
  const text = JSON.stringify({ type: "snapshot", seq: 7, data: { routes: ["a", "b"], note: "{\"parts\"" } });
  assert.equal(reader.take('{"type":"parts","count":3}'), null);
  // pieces cut anywhere, even inside a string
  const pieces = [text.slice(0, 10), text.slice(10, 20), text.slice(20)];
  assert.equal(reader.take(pieces[0]), null);
  assert.equal(reader.take(pieces[1]), null);
  assert.deepEqual(reader.take(pieces[2]), JSON.parse(text));
  assert.equal(reader.take("not json"), null);
  assert.deepEqual(reader.take('{"type":"event","seq":8}'), { type: "event", seq: 8 });
  const another = new MessageReader();
  assert.equal(another.take('{"type":"parts","count":2}'), null);
  assert.equal(another.take("42"), null); // a piece that is JSON by itself is still a piece
  assert.equal(another.take("1"), 421);
});
