// The courier's actions outside the stop forms: start and end the shift,
// arrive at a stop, scan a parcel into the bike.
import { html } from "../kit/html.js";
import { t, computeView, notify, setLoadFeedback } from "./store.js";
import { isOpen, normBarcode, matchBarcode } from "./util.js";
import { enqueue } from "./sync.js";
import { ask } from "./dialog.js";
import { toLoadFor } from "./loops.js";

export async function startShift() {
  const v = computeView();
  if (!v?.shift || v.shift.status !== "planned") return;
  const toLoad = toLoadFor(v.loading, 1); // the first loop; later loops are loaded when the bike is back
  if (toLoad) {
    const ok = await ask(html`<p><strong>${t("shift.notLoaded", { n: toLoad })}</strong></p><p>${t("shift.startAnyway")}</p>`,
      [["cancel", t("shift.backToLoading")], ["ok", t("shift.startBtn"), "primary"]]);
    if (ok !== "ok") {
      if (ok === "cancel") location.hash = "#/load";
      return;
    }
  }
  await enqueue("shift_start", { path: "/courier/shift/start", body: {}, label: t("label.start") });
  notify("ok", navigator.onLine ? t("shift.startedOk") : t("shift.startedOffline"));
}

export async function endShift() {
  const v = computeView();
  if (!v?.shift || v.shift.status !== "started") return;
  const open = (v.route?.stops || []).filter(isOpen).length;
  const ok = await ask(
    open ? html`<p><strong>${t("shift.openStops", { n: open })}</strong></p><p>${t("shift.endAnyway")}</p>`
      : html`<p>${t("shift.endNow")}</p>`,
    [["cancel", t("shift.notYet")], ["ok", t("shift.end"), "danger"]],
  );
  if (ok !== "ok") return;
  await enqueue("shift_end", { path: "/courier/shift/end", body: {}, label: t("label.end") });
  if (!navigator.onLine) notify("info", t("shift.endSaved"));
}

export async function arrive(stopId) {
  const stops = computeView()?.route?.stops || [];
  const i = stops.findIndex((s) => s.stopId === stopId);
  if (i < 0) return;
  await enqueue("arrive", { path: `/courier/stops/${stopId}/arrive`, body: {}, stopId,
    label: t("label.arrive", { n: i + 1, address: stops[i].address }) });
}

export function onLoadScan(raw) {
  const list = computeView()?.loading || [];
  const barcode = matchBarcode(raw, list.map((l) => l.barcode));
  if (!barcode) {
    // Not on our list as we know it: the server decides (and answers 409 if it is not ours).
    const code = normBarcode(raw);
    setLoadFeedback("info", t("load.checking", { barcode: code }));
    enqueue("scan", { path: "/courier/loading/scan", body: { barcode: code }, label: t("label.scan", { barcode: code }) });
    return;
  }
  const entry = list.find((l) => l.barcode === barcode);
  if (entry.loaded) {
    setLoadFeedback("warn", t("load.already", { barcode }));
    if (navigator.vibrate) navigator.vibrate([60, 40, 60]);
    return;
  }
  if (navigator.vibrate) navigator.vibrate(40);
  setLoadFeedback("ok", t("load.asNumber", { barcode, n: entry.loadOrder }), true);
  enqueue("scan", { path: "/courier/loading/scan", body: { barcode }, label: t("label.scan", { barcode }) });
}
