// Messages from dispatch (the courier.message event): kept on screen as banners
// until the courier dismisses them. Pure: lists in, lists out (tests/js).

export const MAX_SHOWN = 5;
export const MAX_DISMISSED = 50;

/**
 * The list with ``message`` added (once per id), newest last, at most MAX_SHOWN. A message whose id is in
 * ``dismissed`` stays away: a resume may replay its event after the courier has closed it.
 */
export function addMessage(list, message, dismissed = []) {
  if (!message || message.id == null || typeof message.text !== "string") return list;
  if (list.some((m) => m.id === message.id) || dismissed.includes(message.id)) return list;
  const next = [...list, { id: message.id, text: message.text, sentAt: message.sentAt || null,
    sentBy: message.sentBy?.name || null }];
  return next.slice(-MAX_SHOWN);
}

/** The list without the message ``id`` (dismissed). */
export const dismissMessage = (list, id) => list.filter((m) => m.id !== id);

/** The ids closed by the courier, newest last, at most MAX_DISMISSED (older events are not replayed). */
export const rememberDismissed = (dismissed, id) => [...dismissed.filter((d) => d !== id), id].slice(-MAX_DISMISSED);

/** The banner's heading: who sent it, and when (``clock`` turns an ISO time into the locale's HH:MM). */
export function bannerTitle(message, t, clock) {
  const from = message.sentBy ? t("dispatch.from", { name: message.sentBy }) : t("dispatch.fromDispatch");
  return message.sentAt ? `${from} · ${clock(message.sentAt)}` : from;
}
