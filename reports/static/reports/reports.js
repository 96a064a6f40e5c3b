/* Reports: the dashboard's villages coloured by progress and the alerts' map layer (tables sort with js/sortable.js). */
(function () {
  "use strict";

  if (!window.L) return;

  function escape(text) {
    var div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }

  function baseMap(box) {
    var map = L.map(box, { attributionControl: false });
    map.setView([33.92, 111.62], 9);
    L.control.scale({ imperial: false }).addTo(map);
    fetch("/api/v1/areas/?level=township", { credentials: "same-origin" })
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
            l.bindPopup("<strong>" + escape(p.township) + " · " + escape(p.village) + "</strong><br>在册资产 " + p.assets +
              "<br>清产核资 " + pc(p.inventory) + " · 确权登记 " + pc(p.ownership) + "<br>公示 " + pc(p.publicity) +
              " · 核查 " + pc(p.verification) + '<br><a href="/reports/villages/' + encodeURIComponent(p.code) + '/">村级报告</a>');
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

  var alertsBox = document.getElementById("alerts-map");
  if (alertsBox) {
    var amap = baseMap(alertsBox);
    fetch(alertsBox.getAttribute("data-geojson"), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var points = L.geoJSON(data, {
          pointToLayer: function (f, latlng) {
            return L.circleMarker(latlng, { radius: f.properties.level === "red" ? 7 : 5, color: "#fff", weight: 1,
              fillColor: f.properties.colour, fillOpacity: 0.9 });
          },
          onEachFeature: function (f, l) {
            var p = f.properties;
            l.bindPopup("<strong>" + escape(p.level_label) + "：" + escape(p.title) + "</strong><br>" +
              (p.asset ? escape(p.asset) + " " + escape(p.name) + "<br>" : "") + escape(p.village) + "<br>" +
              escape(p.evidence) + (p.url ? '<br><a href="' + escape(p.url) + '">查看</a>' : ""));
          }
        }).addTo(amap);
        if (data.features.length) amap.fitBounds(points.getBounds().pad(0.1));
        window.__alertsDrawn = data.features.length;
      });
  }
})();
