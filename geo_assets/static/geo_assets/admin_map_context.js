// Draws the boundaries around an asset (its village and neighbours, or the clerk's area) under the
// geometry editor, so a clerk can place the asset without a basemap. Names are set as text, never HTML.
(function () {
  "use strict";
  var node = document.getElementById("asset-context-areas");
  if (!node || !window.L) { return; }
  var areas = JSON.parse(node.textContent);
  window.addEventListener("map:init", function (event) {
    var map = event.detail.map;
    var layer = L.geoJSON(areas, {
      interactive: false,
      style: function (feature) {
        var own = feature.properties.own;
        return {color: own ? "#9b1c1c" : "#666", weight: own ? 2 : 1, fill: own, fillOpacity: 0.04};
      },
      onEachFeature: function (feature, lyr) {
        lyr.bindTooltip(document.createTextNode(feature.properties.name), {permanent: false});
      },
    }).addTo(map);
    layer.bringToBack();
    map.whenReady(function () {
      setTimeout(function () {
        var hasGeometry = false;
        map.eachLayer(function (l) {
          if ((l.getLatLng || l.getLatLngs) && !layer.hasLayer(l)) { hasGeometry = true; }
        });
        if (!hasGeometry && layer.getBounds().isValid()) { map.fitBounds(layer.getBounds()); }
        map.getContainer().setAttribute("data-context-ready", "1");
      }, 50);
    });
  });
})();
