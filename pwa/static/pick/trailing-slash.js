// /pick without its slash would resolve the app's relative URLs against "/": add it.
if (location.pathname === "/pick") location.replace("/pick/" + location.search + location.hash);
