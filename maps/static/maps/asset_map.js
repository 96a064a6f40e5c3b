/* The asset page's small map: the asset (highlighted) inside its village boundary. */
(function () {
  "use strict";
  var box = document.getElementById("asset-map");
  if (!box || !window.L || !box.dataset.geometry) return;
  var state = window.__assetMap = {asset: false, village: false};
  var map = L.map(box, {scrollWheelZoom: false, attributionControl: false, zoomSnap: 0.25});
  L.control.scale({imperial: false}).addTo(map);
  var asset = L.geoJSON(JSON.parse(box.dataset.geometry), {
    style: function (f) {
      return f.geometry.type === "Point"
        ? {radius: 8, color: "#fff", weight: 2, fillColor: "#9b1c1c", fillOpacity: 1, className: "asset-geometry"}
        : {color: "#9b1c1c", weight: 5, fillOpacity: 0.35, className: "asset-geometry"};
    },
    pointToLayer: function (f, ll) { return L.circleMarker(ll); },
  }).addTo(map);
  map.fitBounds(asset.getBounds(), {maxZoom: 16, padding: [20, 20]});
  state.asset = true;
  var code = box.dataset.village;
  if (!code) return;
  fetch("/api/v1/areas/" + encodeURIComponent(code) + "/", {credentials: "same-origin", headers: {Accept: "application/json"}})
    .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
    .then(function (feature) {
      var village = L.geoJSON(feature, {interactive: false, style: {color: "#555", weight: 2, dashArray: "6 4",
                                                                       fillColor: "#e8dfd2", fillOpacity: 0.35,
                                                                       className: "village-boundary"}}).addTo(map);
      village.bringToBack();
      map.fitBounds(village.getBounds().extend(asset.getBounds()), {padding: [12, 12]});
      state.village = true;
    })
    .catch(function () { /* the asset alone is still shown */ });
})();
