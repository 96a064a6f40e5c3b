/* The county office's verification pages: sortable tables and the campaign's map coloured by progress. */
(function () {
  "use strict";

  var box = document.getElementById("progress-map");
  // Django's JavaScript catalogue (/jsi18n/, loaded before this script); English without it.
  var gettext = window.gettext || function (text) { return text; };
  function tr(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_m, key) { return String(values[key]); });
  }
  if (!box || !window.L) return;

  function colour(percent) {
    if (percent >= 100) return "#1a9850";
    if (percent >= 75) return "#91cf60";
    if (percent >= 50) return "#fee08b";
    if (percent >= 25) return "#fc8d59";
    return "#d73027";
  }

  // Text for HTML built as a string (popups, tooltips): in an element's content and in a quoted attribute alike.
  var ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  function escape(text) {
    return (text == null ? "" : String(text)).replace(/[&<>"']/g, function (c) { return ENTITIES[c]; });
  }

  var map = L.map(box, { zoomControl: true, attributionControl: false, zoomSnap: 0.25 });
  map.setView([33.92, 111.62], 9);
  // The townships' outlines for orientation (public boundaries), under the campaign's villages.
  fetch("/api/v1/areas/?level=township&zoom=11&page_size=1000", { credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (data) {
      if (data) L.geoJSON(data, { interactive: false, style: { color: "#777", weight: 1, fill: false } }).addTo(map).bringToBack();
    });
  fetch(box.getAttribute("data-geojson"), { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (data) {
      var layer = L.geoJSON(data, {
        style: function (f) {
          return { color: "#555", weight: 1, fillColor: colour(f.properties.percent), fillOpacity: 0.75 };
        },
        onEachFeature: function (f, l) {
          var p = f.properties;
          l.bindTooltip(escape(p.village) + " " + p.percent + "%", { sticky: true });
          l.bindPopup("<strong>" + escape(p.township) + " · " + escape(p.village) + "</strong><br>" +
            escape(tr(gettext("Verified %(verified)s / %(total)s (%(percent)s%), waiting for review %(flagged)s"),
              { verified: p.verified, total: p.total, percent: p.percent, flagged: p.flagged })) +
            '<br><a href="/villages/' + encodeURIComponent(p.code) + '/">' + escape(gettext("Village report")) + "</a>");
          l.on("click", function () {
            var select = document.getElementById("assign-village");
            if (select) select.value = p.code;
            var row = document.querySelector('#progress-table tr[data-code="' + p.code + '"]');
            document.querySelectorAll("#progress-table tr.selected").forEach(function (r) { r.classList.remove("selected"); });
            if (row) row.classList.add("selected");
          });
        },
      }).addTo(map);
      if (layer.getLayers().length) map.fitBounds(layer.getBounds(), { padding: [10, 10] });
      box.classList.add("map-loaded");
    });
})();
