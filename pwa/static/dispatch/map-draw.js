// Drawing an area on the desk's map (for a zone closure): the user clicks its corners;
// Enter or a double click ends (at least 3 corners), Esc cancels.

/** Resolves to the corners [[lat, lon], ...], or null when cancelled. ``hint`` is shown meanwhile. */
export function drawArea(map, container, hint) {
  const L = window.L;
  return new Promise((resolve) => {
    const pts = [];
    const line = L.polygon([], { color: "#b3261e", weight: 3, dashArray: "4 4", interactive: false }).addTo(map);
    const hintEl = Object.assign(document.createElement("div"), { className: "map-hint", textContent: hint });
    container.parentElement.append(hintEl);
    map.doubleClickZoom.disable();
    container.classList.add("drawing");
    const onClick = (e) => {
      const p = [e.latlng.lat, e.latlng.lng];
      const last = pts[pts.length - 1];
      if (!last || last[0] !== p[0] || last[1] !== p[1]) pts.push(p);
      line.setLatLngs(pts);
    };
    const finish = (result) => {
      map.off("click", onClick);
      map.off("dblclick", onDbl);
      document.removeEventListener("keydown", onKey, true);
      map.removeLayer(line);
      hintEl.remove();
      container.classList.remove("drawing");
      setTimeout(() => map.doubleClickZoom.enable(), 0);
      resolve(result);
    };
    const onDbl = () => finish(pts.length >= 3 ? pts.slice() : null);
    const onKey = (e) => {
      if (e.key === "Enter") { e.preventDefault(); finish(pts.length >= 3 ? pts.slice() : null); }
      if (e.key === "Escape") { e.preventDefault(); finish(null); }
    };
    map.on("click", onClick);
    map.on("dblclick", onDbl);
    document.addEventListener("keydown", onKey, true);
  });
}
