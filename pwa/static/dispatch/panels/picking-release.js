// The Picking panel's "Release wave now": POST /hubs/{id}/waves/release for one wave's cut-off,
// early or not. One Idempotency-Key per press, so a retried press is not a second release;
// a refusal shows the server's sentence under that wave. No DOM here: tested with node --test
// (tests/js/dispatch_picking.test.mjs) against a fake desk.
import { hubAndDate, send } from "./shared.js";
import { releasedOutcome } from "./picking-model.js";

/** Which wave is being released ("" when none) and the last refusal, by cut-off. */
export const releasing = { busy: "", cutoff: "", error: "" };

function newKey() {
  return globalThis.crypto?.randomUUID ? globalThis.crypto.randomUUID() : `${Date.now()}-${Math.random()}`;
}

/** Release the wave of ``cutoff`` on the desk's day; ``after(desk)`` (the figures' reload) once released. */
export async function releaseWaveNow(desk, cutoff, { after, key = newKey } = {}) {
  const { hubId, date } = hubAndDate(desk);
  if (releasing.busy || hubId == null || !date) return null;
  Object.assign(releasing, { busy: cutoff, cutoff, error: "" });
  desk.rerender();
  const res = await send(desk, "POST", `/hubs/${hubId}/waves/release`, { date, cutoff }, { key: key() });
  releasing.busy = "";
  if (!res.ok) {
    releasing.error = res.sentence;
  } else {
    const out = releasedOutcome(res.data, cutoff);
    desk.toast(desk.t(out.key, out.params), "info");
    if (after) await after(desk);
  }
  desk.rerender();
  return res;
}
