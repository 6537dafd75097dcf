// /returns-desk without its slash would resolve the app's relative URLs against "/": add it.
if (location.pathname === "/returns-desk") location.replace("/returns-desk/" + location.search + location.hash);
