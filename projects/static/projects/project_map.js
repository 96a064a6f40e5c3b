/* The project page's small map: the project's assets (GeoJSON from /projects/<code>/assets.geojson, scoped to what
   the user sees). Popups are built as DOM text: nothing from the data is ever read as markup. */
(function () {
  "use strict";
  var box = document.getElementById("project-map");
  if (!box || !window.L || !box.dataset.url) return;
  var state = window.__projectMap = {loaded: false, features: 0};
  var map = L.map(box, {scrollWheelZoom: false, attributionControl: false, zoomSnap: 0.25});
  L.control.scale({imperial: false}).addTo(map);
  map.setView([33.9, 111.6], 9);
  var shown = L.latLngBounds([]);

  function show(layer) {  // the view holds everything drawn so far (no animation: the view is final at once)
    shown.extend(layer.getBounds());
    if (shown.isValid()) map.fitBounds(shown, {maxZoom: 15, padding: [20, 20], animate: false});
  }

  function line(parent, label, value) {
    var row = document.createElement("div");
    var key = document.createElement("span");
    key.className = "popup-key";
    key.textContent = label;
    row.appendChild(key);
    row.appendChild(document.createTextNode(value));
    parent.appendChild(row);
  }

  function popup(p) {
    var el = document.createElement("div");
    el.className = "project-popup";
    var title = document.createElement("a");
    title.href = p.url;
    title.textContent = p.code + " " + p.name;
    title.className = "popup-title";
    el.appendChild(title);
    line(el, gettext("Type: "), p.type);
    if (p.village) line(el, gettext("Village: "), p.village);
    line(el, gettext("Status: "), p.status);
    line(el, gettext("From this project (10k yuan): "), p.contribution);
    return el;
  }

  fetch(box.dataset.url, {credentials: "same-origin", headers: {Accept: "application/geo+json"}})
    .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
    .then(function (data) {
      var layer = L.geoJSON(data, {
        style: function () { return {color: "#9b1c1c", weight: 4, fillOpacity: 0.35, className: "project-asset"}; },
        pointToLayer: function (f, ll) {
          return L.circleMarker(ll, {radius: 8, color: "#fff", weight: 2, fillColor: "#9b1c1c", fillOpacity: 1,
                                     className: "project-asset"});
        },
        onEachFeature: function (f, l) { l.bindPopup(function () { return popup(f.properties); }); },
      }).addTo(map);
      state.layer = layer;
      state.features = data.features.length;
      if (data.features.length) show(layer);
      else box.classList.add("project-map-empty");
      state.loaded = true;
    })
    .catch(function () { state.failed = true; });

  // the villages the project served, as dashed outlines behind the assets (as on the asset page)
  var villages = (box.dataset.villages || "").split(",").filter(Boolean);
  state.villages = 0;
  villages.forEach(function (code) {
    fetch("/api/v1/areas/" + encodeURIComponent(code) + "/", {credentials: "same-origin",
                                                              headers: {Accept: "application/json"}})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (feature) {
        var outline = L.geoJSON(feature, {interactive: false, style: {color: "#555", weight: 2, dashArray: "6 4",
                                                                        fillColor: "#e8dfd2", fillOpacity: 0.3,
                                                                        className: "village-boundary"}}).addTo(map);
        outline.bringToBack();
        show(outline);
        state.villages += 1;
      })
      .catch(function () { /* the assets alone are still shown */ });
  });
})();
