/* Reports: the dashboard's villages coloured by progress and the alerts' map layer (tables sort with js/sortable.js). */
(function () {
  "use strict";

  if (!window.L) return;

  // Text for HTML built as a string (popups, tooltips): in an element's content and in a quoted attribute alike.
  var ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  function escape(text) {
    return (text == null ? "" : String(text)).replace(/[&<>"']/g, function (c) { return ENTITIES[c]; });
  }

  function baseMap(box) {
    var map = L.map(box, { attributionControl: false, zoomSnap: 0.25 });
    map.setView([33.92, 111.62], 9);
    L.control.scale({ imperial: false }).addTo(map);
    fetch("/api/v1/areas/?level=township&zoom=11&page_size=1000", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data) L.geoJSON(data, { interactive: false, style: { color: "#7a0019", weight: 1.5, fill: false } }).addTo(map);
      });
    return map;
  }

  function progressColour(p) {
    if (p == null) return "#dddddd";
    if (p >= 100) return "#1a9850";
    if (p >= 75) return "#91cf60";
    if (p >= 50) return "#fee08b";
    if (p >= 25) return "#fc8d59";
    return "#d73027";
  }

  var progressBox = document.getElementById("progress-map");
  if (progressBox) {
    var map = baseMap(progressBox);
    var select = document.getElementById("progress-task");
    var layer = null;
    fetch(progressBox.getAttribute("data-geojson"), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        layer = L.geoJSON(data, {
          style: function (f) { return { color: "#555", weight: 0.8, fillOpacity: 0.8, fillColor: progressColour(f.properties[select.value]) }; },
          onEachFeature: function (f, l) {
            var p = f.properties;
            function pc(v) { return v == null ? "—" : v + "%"; }
            l.bindTooltip(escape(p.village) + " " + pc(p[select.value]), { sticky: true });
            l.bindPopup("<strong>" + escape(p.township) + " · " + escape(p.village) + "</strong><br>" + gettext("Registered assets") + " " + p.assets +
              "<br>" + gettext("Inventory") + " " + pc(p.inventory) + " · " + gettext("Ownership registration") + " " +
              pc(p.ownership) + "<br>" + gettext("Publicity") + " " + pc(p.publicity) + " · " + gettext("Verification") +
              " " + pc(p.verification) + '<br><a href="/reports/villages/' + encodeURIComponent(p.code) + '/">' +
              gettext("Village report") + "</a>");
          }
        }).addTo(map);
        if (data.features.length) map.fitBounds(layer.getBounds());
        window.__progressDrawn = data.features.length;
      });
    select.addEventListener("change", function () {
      if (!layer) return;
      layer.setStyle(function (f) { return { fillColor: progressColour(f.properties[select.value]) }; });
      layer.eachLayer(function (l) {
        var v = l.feature.properties[select.value];
        l.setTooltipContent(escape(l.feature.properties.village) + " " + (v == null ? "—" : v + "%"));
      });
    });
  }

  // Alerts on the map, grouped on a pixel grid (CELL px) at every zoom: thousands of alerts stay readable at county
  // zoom. A group is drawn as a circle with its count in the colour of its worst level; a click zooms into it
  // (or lists its alerts when they sit on one spot). A cell holding one alert draws the alert itself.
  var LEVEL_ORDER = { red: 0, yellow: 1, blue: 2 };
  var CELL = 56;

  function alertPopup(p) {
    return "<strong>" + escape(p.level_label) + pgettext("label separator", ": ") + escape(p.title) + "</strong><br>" +
      (p.asset ? escape(p.asset) + " " + escape(p.name) + "<br>" : "") + escape(p.village) + "<br>" +
      escape(p.evidence) + (p.url ? '<br><a href="' + escape(p.url) + '">' + gettext("View") + "</a>" : "");
  }

  function groupPopup(members) {
    var shown = members.slice(0, 20).map(function (f) {
      var p = f.properties;
      return "<li>" + escape(p.level_label) + pgettext("label separator", ": ") + escape(p.title) + (p.asset ? " · " + escape(p.asset) : "") +
        (p.url ? ' <a href="' + escape(p.url) + '">' + gettext("View") + "</a>" : "") + "</li>";
    }).join("");
    var n = members.length;
    return "<strong>" + interpolate(ngettext("%(n)s alert here", "%(n)s alerts here", n), { n: n }, true) +
      "</strong><ul class=\"alert-group\">" + shown + "</ul>" +
      (n > 20 ? "<p>" + gettext("Only the first 20 are listed; filter by village in the table below.") + "</p>" : "");
  }

  function clusterAlerts(map, features, layer) {
    layer.clearLayers();
    var zoom = map.getZoom(), cells = {};
    features.forEach(function (f) {
      var c = f.geometry.coordinates, pt = map.project([c[1], c[0]], zoom);
      var key = Math.floor(pt.x / CELL) + ":" + Math.floor(pt.y / CELL);
      (cells[key] = cells[key] || []).push(f);
    });
    var groups = 0, singles = 0;
    Object.keys(cells).forEach(function (key) {
      var members = cells[key];
      if (members.length === 1) {
        var p = members[0].properties, c = members[0].geometry.coordinates;
        L.circleMarker([c[1], c[0]], { radius: p.level === "red" ? 7 : 5, color: "#fff", weight: 1,
          fillColor: p.colour, fillOpacity: 0.9 }).bindPopup(alertPopup(p)).addTo(layer);
        singles += 1;
        return;
      }
      var lat = 0, lng = 0, worst = members[0], bounds = L.latLngBounds([]);
      members.forEach(function (f) {
        var c = f.geometry.coordinates;
        lat += c[1]; lng += c[0]; bounds.extend([c[1], c[0]]);
        if (LEVEL_ORDER[f.properties.level] < LEVEL_ORDER[worst.properties.level]) worst = f;
      });
      var n = members.length, size = n < 10 ? 26 : n < 100 ? 32 : 40;
      var marker = L.marker([lat / n, lng / n], { icon: L.divIcon({
        className: "alert-cluster alert-cluster-" + worst.properties.level, iconSize: [size, size],
        html: "<span style=\"background:" + escape(worst.properties.colour) + "\">" + n + "</span>" }),
        title: interpolate(ngettext("%(n)s alert", "%(n)s alerts", n), { n: n }, true), keyboard: true });
      marker.on("click", function () {
        var sw = map.project(bounds.getSouthWest(), map.getZoom()), ne = map.project(bounds.getNorthEast(), map.getZoom());
        if (map.getZoom() < map.getMaxZoom() && (Math.abs(ne.x - sw.x) > 2 || Math.abs(ne.y - sw.y) > 2)) {
          map.fitBounds(bounds.pad(0.2), { maxZoom: Math.max(map.getZoom() + 1, 12) });
        } else {
          marker.bindPopup(groupPopup(members)).openPopup();
        }
      });
      marker.addTo(layer);
      groups += 1;
    });
    window.__alertsMarkers = { groups: groups, singles: singles };
  }

  var alertsBox = document.getElementById("alerts-map");
  if (alertsBox) {
    var amap = baseMap(alertsBox);
    fetch(alertsBox.getAttribute("data-geojson"), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var features = data.features.filter(function (f) { return f.geometry && f.geometry.type === "Point"; });
        var layer = L.layerGroup().addTo(amap);
        if (features.length) amap.fitBounds(L.geoJSON(data).getBounds().pad(0.1));
        clusterAlerts(amap, features, layer);
        amap.on("zoomend", function () { clusterAlerts(amap, features, layer); });
        window.__alertsDrawn = data.features.length;
        if (data.truncated) {  // the map shows the first of them, in the list's order
          var note = document.createElement("p");
          note.className = "note";
          note.id = "alerts-map-truncated";
          note.textContent = interpolate(gettext("The map shows the first %(shown)s of %(total)s alerts; filter to see the others."),
            { shown: data.features.length, total: data.numberMatched }, true);
          alertsBox.parentNode.insertBefore(note, alertsBox.nextSibling);
        }
      });
  }
})();
