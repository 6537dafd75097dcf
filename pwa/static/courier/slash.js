// Served at /courier as well as /courier/: move to the trailing slash, the scope of the app.
if (location.pathname === "/courier") location.replace("/courier/" + location.search + location.hash);
