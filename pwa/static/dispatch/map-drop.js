// Dropping a stop onto a courier's marker on the map gives it to that courier, the same move
// as a drop on the courier's timeline row (moves.assign: POST /stops/{id}/assign).
// - Timeline chips and unplanned items (HTML5 drag and drop, ./drag.js) drop on a marker.
// - The map's own stop circles are drawn on a canvas (not elements one can drag): pressing
//   one and releasing it over a courier's marker does the same (zoomed in, not on clusters).
// A refusal shows the server's sentence on the map, at the courier's marker (and in the
// desk-flash, as every refused move), and nothing changes. The keyboard way is the move panel.

const MIME = "text/plain";
const PIN = ".courier-pin[data-courier-id]";
const HIT_PX = 10;  // a press this close to a stop's centre takes the stop
const MOVE_PX = 5;  // the pointer must travel this far before a press becomes a drag

/** The courier marker at an element (or null). */
const pinAt = (target) => target?.closest?.(PIN) || null;

/** The stop whose circle is nearest to ``point`` (container pixels) within ``HIT_PX``, or null. */
export function stopNear(stops, project, point, hitPx = HIT_PX) {
  let best = null;
  let bestD = hitPx * hitPx;
  for (const s of stops) {
    if (s.lat == null) continue;
    const p = project(s);
    const d = (p.x - point.x) ** 2 + (p.y - point.y) ** 2;
    if (d <= bestD) [best, bestD] = [s, d];
  }
  return best;
}

/**
 * Wire drops on ``container`` (the map's element). ``deskMap``: the DeskMap (its Leaflet map,
 * ``flash`` and ``clustered``); ``sentence(res)``: a refusal as a sentence.
 */
export function bindMapDrop(container, { store, moves, deskMap, sentence }) {
  let target = null; // the marker drawn as the drop target

  const mark = (pin) => {
    if (pin === target) return;
    target?.classList.remove("drop-target");
    target = pin;
    target?.classList.add("drop-target");
  };

  function assignTo(stopId, pin) {
    mark(null);
    const to = Number(pin.dataset.courierId);
    const state = store.getState();
    if (!stopId || !to || state.stops.get(stopId)?.courierId === to) return Promise.resolve(false);
    const onRefused = (res) => {
      const pos = store.getState().positions.get(to);
      if (pos?.lat != null) deskMap.flash(pos.lat, pos.lon, sentence(res));
    };
    return moves.assign(stopId, to, { onRefused });
  }

  // Chips and unplanned items, dragged from beside the map.
  container.addEventListener("dragover", (ev) => {
    const pin = pinAt(ev.target);
    if (!pin || !ev.dataTransfer?.types?.includes(MIME)) return mark(null);
    ev.preventDefault();
    ev.dataTransfer.dropEffect = "move";
    mark(pin);
  });
  container.addEventListener("dragleave", (ev) => {
    if (target && !target.contains(ev.relatedTarget)) mark(null);
  });
  container.addEventListener("drop", (ev) => {
    const pin = pinAt(ev.target);
    if (!pin) return;
    ev.preventDefault();
    assignTo(Number(ev.dataTransfer.getData(MIME)), pin);
  });

  // The map's stop circles: press, move, release over a marker. Captured before Leaflet's
  // own handler, so the map does not pan while a stop is carried.
  let press = null; // {stopId, x, y, moving}
  container.addEventListener("mousedown", (ev) => {
    const map = deskMap.map;
    if (ev.button !== 0 || !map || deskMap.clustered || ev.target?.tagName !== "CANVAS") return;
    if (container.classList.contains("drawing")) return; // drawing a closed area: presses are corners
    const box = container.getBoundingClientRect();
    const point = { x: ev.clientX - box.left, y: ev.clientY - box.top };
    const s = stopNear(store.getState().stops.values(), (x) => map.latLngToContainerPoint([x.lat, x.lon]), point);
    if (!s) return;
    ev.stopPropagation();
    press = { stopId: s.stopId, x: ev.clientX, y: ev.clientY, moving: false };
    document.addEventListener("mousemove", onMove, true);
    document.addEventListener("mouseup", onUp, true);
    document.addEventListener("keydown", onKey, true);
  }, true);

  function onMove(ev) {
    if (!press) return;
    if (!press.moving && Math.hypot(ev.clientX - press.x, ev.clientY - press.y) < MOVE_PX) return;
    press.moving = true;
    container.classList.add("carrying-stop");
    mark(pinAt(document.elementFromPoint(ev.clientX, ev.clientY)));
  }

  function onUp(ev) {
    const carried = press;
    end();
    if (!carried?.moving) return; // a click: Leaflet selects the stop
    const pin = pinAt(document.elementFromPoint(ev.clientX, ev.clientY));
    if (pin) assignTo(carried.stopId, pin);
  }

  function onKey(ev) {
    if (ev.key === "Escape") end();
  }

  function end() {
    press = null;
    mark(null);
    container.classList.remove("carrying-stop");
    document.removeEventListener("mousemove", onMove, true);
    document.removeEventListener("mouseup", onUp, true);
    document.removeEventListener("keydown", onKey, true);
  }
}
