// /point without its slash would resolve the app's relative URLs against "/": add it.
if (location.pathname === "/point") location.replace("/point/" + location.search + location.hash);
