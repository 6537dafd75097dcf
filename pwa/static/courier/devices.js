// The phone's devices the app drives: the map, the screen wake lock and the
// position sent over the live stream while the shift runs.
import { PositionTracker, WakeLock } from "./device.js";
import { RouteMap } from "./map.js";
import { state, $ } from "./store.js";
import { live } from "./sync.js";

export const map = new RouteMap($("#map"));
export const wake = new WakeLock();
export const tracker = new PositionTracker({
  // The server takes positions once it knows the shift started (not on the phone's optimistic word).
  send: (msg) => state.day?.shift?.status === "started" && live.send(msg),
  onPosition: (pos, error) => {
    state.position = pos;
    state.positionError = error;
    map.setPosition(pos);
  },
});

export function syncDevices(view) {
  if (view?.shift?.status === "started") {
    tracker.start();
    if (!wake.wanted) wake.enable();
  } else {
    tracker.stop();
    if (wake.wanted) wake.disable();
  }
}
