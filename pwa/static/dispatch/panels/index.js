// The desk's panels, as app.js uses them: toolbar, details, alerts, figures, picking and returns (each a
// lit-html template drawn by the app), and startPanels, called once after login.
import { throttle, routesSignature } from "./model.js";
import { onlyPositions } from "../store.js";
import { ui } from "./shared.js";
import { loadAlerts } from "./alerts.js";
import { loadFigures } from "./figures.js";
import { loadCourier } from "./details.js";
import { loadPicking } from "./picking.js";
import { loadReturns } from "./returns.js";

export { toolbar } from "./toolbar.js";
export { detailsPanel } from "./details.js";
export { alertsPanel } from "./alerts.js";
export { figuresPanel } from "./figures.js";
export { pickingPanel } from "./picking.js";
export { returnsPanel } from "./returns.js";

const FIGURES_EVERY_MS = 60_000;
const FIGURES_AFTER_EVENT_MS = 10_000;
const TRAIL_EVERY_MS = 30_000;
let started = null;

/** Initial loads (alerts, figures), polling, and figures again after plan and route changes. */
export function startPanels(desk) {
  if (started) return started;
  addStylesheet();
  loadAlerts(desk);
  loadFigures(desk);
  loadPicking(desk);
  loadReturns(desk);
  const figuresSoon = throttle(() => loadFigures(desk), FIGURES_AFTER_EVENT_MS);
  const alertsSoon = throttle(() => loadAlerts(desk), FIGURES_AFTER_EVENT_MS);
  let seen = routesSignature(desk.store.getState());
  let day = dayKey(desk.store.getState());
  const unsubscribe = desk.store.subscribe((_, change) => {
    if (change && onlyPositions(change)) return; // positions change no route, alert or figure here
    const state = desk.store.getState();
    if (dayKey(state) !== day) { // the desk loaded another hub or day: its alerts and figures
      day = dayKey(state);
      loadAlerts(desk);
      loadFigures(desk);
      loadPicking(desk);
      loadReturns(desk);
      return;
    }
    if (change?.all || change?.snapshot) alertsSoon(); // a fresh snapshot (after a gap): alerts raised meanwhile
    if (change?.all || change?.snapshot || change?.picking) loadPicking(desk); // the warehouse moved: live
    const sig = routesSignature(state);
    if (sig !== seen || change?.plan) {
      seen = sig;
      figuresSoon();
    }
  });
  const timers = [
    setInterval(() => loadFigures(desk), FIGURES_EVERY_MS),
    setInterval(() => { if (ui.courier.id != null) loadCourier(desk, ui.courier.id); }, TRAIL_EVERY_MS),
  ];
  started = {
    stop() {
      for (const id of timers) clearInterval(id);
      if (typeof unsubscribe === "function") unsubscribe();
      started = null;
    },
  };
  return started;
}

const dayKey = (state) => `${state.hub?.id ?? ""}/${state.date ?? ""}`;

/** The panels' styles, beside them (dispatch.css is the page's). */
function addStylesheet() {
  if (document.querySelector("link[data-panels-css]")) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = new URL("./panels.css", import.meta.url).pathname;
  link.dataset.panelsCss = "";
  document.head.append(link);
}
