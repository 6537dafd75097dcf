// /courier without its slash would resolve the app's relative URLs against "/": add it.
if (location.pathname === "/courier") location.replace("/courier/" + location.search + location.hash);
