// A worker app opened at /<app> without its slash would resolve the app's relative URLs against
// "/": add it. A classic script, the first in each app's <head> (pick, point, returns-desk).
if (/^\/[^/]+$/.test(location.pathname)) location.replace(location.pathname + "/" + location.search + location.hash);
