// Shows the push messages about a customer's order.
self.addEventListener("push", (event) => {
  const data = event.data ? event.data.json() : { title: "Laadbak", body: "" };
  event.waitUntil(self.registration.showNotification(data.title || "Laadbak", { body: data.body || "" }));
});
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(clients.openWindow(self.registration.scope));
});
