// Shows the push messages about a customer's order. A message that carries Dutch (``nl``)
// shows it to a Dutch browser (a service worker cannot read the page's remembered switch).
self.addEventListener("push", (event) => {
  const data = event.data ? event.data.json() : { title: "Laadbak", body: "" };
  const text = data.nl && /^nl\b/i.test(self.navigator.language || "") ? data.nl : data;
  event.waitUntil(self.registration.showNotification(text.title || "Laadbak", { body: text.body || "" }));
});
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(clients.openWindow(self.registration.scope));
});
