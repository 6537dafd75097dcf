// Messages from dispatch (the courier.message event): kept on screen as banners
// until the courier dismisses them. Pure: lists in, lists out (tests/js).

export const MAX_SHOWN = 5;

/** The list with ``message`` added (once per id), newest last, at most MAX_SHOWN. */
export function addMessage(list, message) {
  if (!message || message.id == null || typeof message.text !== "string") return list;
  if (list.some((m) => m.id === message.id)) return list;
  const next = [...list, { id: message.id, text: message.text, sentAt: message.sentAt || null,
    sentBy: message.sentBy?.name || null }];
  return next.slice(-MAX_SHOWN);
}

/** The list without the message ``id`` (dismissed). */
export const dismissMessage = (list, id) => list.filter((m) => m.id !== id);

/** The banner's heading: who sent it, and when (``clock`` turns an ISO time into the locale's HH:MM). */
export function bannerTitle(message, t, clock) {
  const from = message.sentBy ? t("dispatch.from", { name: message.sentBy }) : t("dispatch.fromDispatch");
  return message.sentAt ? `${from} · ${clock(message.sentAt)}` : from;
}
