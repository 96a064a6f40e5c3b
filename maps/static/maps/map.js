/* The inspector's map. Leaflet (django-leaflet) + protomaps-leaflet drawing our own MVT tiles.
 * Every piece of data shown in panels is put in the DOM with textContent (never innerHTML). */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("map-config").textContent);
  var registry = config.registry;
  var layerDefs = {};
  registry.layers.forEach(function (l) { layerDefs[l.name] = l; });
  var assetStyle = layerDefs.assets.style;
  var ALL_TYPES = [];
  registry.categories.forEach(function (c) { c.types.forEach(function (t) { ALL_TYPES.push(t.type); }); });
  var FILTER_KEYS = ["township", "village", "category", "type", "status", "year_min", "year_max", "verified"];

  // Exposed for tests and debugging: what has been drawn, and whether layers are idle.
  var stats = window.__mapStats = {assets: {}, clusters: 0, villages: {}, townships: {}, loading: {}, selected: null,
                                   village: null, generation: 0};

  var state = {
    z: null, lat: null, lng: null, base: config.basemapDefault,
    show: {townships: true, villages: true, assets: true},
    filters: {}, asset: null,
  };

  // ---------- helpers ----------
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === "class") node.className = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function fetchJson(url) {
    return fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}}).then(function (r) {
      if (!r.ok) throw new Error(r.status + " " + url);
      return r.json();
    });
  }
  function filterQuery(keys) {
    var p = new URLSearchParams();
    (keys || FILTER_KEYS).forEach(function (k) {
      var v = state.filters[k];
      if (v !== undefined && v !== null && v !== "" && !(Array.isArray(v) && v.length === 0)) {
        p.set(k, Array.isArray(v) ? v.join(",") : v);
      }
    });
    // An empty type selection draws nothing: represent it with an impossible combination.
    if (state.filters.type && state.filters.type.length === 0 && (!keys || keys.indexOf("type") >= 0)) {
      p.set("category", "public_welfare"); p.set("type", "equity");
    }
    return p.toString();
  }
  function fmt(n) { return n === null || n === undefined || n === "" ? "—" : String(n); }
  function money(n) { return n === null || n === undefined ? "—" : Number(n).toLocaleString("zh-CN", {maximumFractionDigits: 4}) + " 万元"; }

  // ---------- permalink (hash) ----------
  function readHash() {
    var p = new URLSearchParams(location.hash.replace(/^#/, ""));
    var m = (p.get("map") || "").split("/");
    if (m.length === 3 && m.every(function (v) { return v !== "" && !isNaN(Number(v)); })) {
      state.z = Number(m[0]); state.lat = Number(m[1]); state.lng = Number(m[2]);
    }
    if (p.get("base") && config.basemaps.some(function (b) { return b.id === p.get("base"); })) state.base = p.get("base");
    if (p.has("show")) {
      var shown = p.get("show").split(",");
      Object.keys(state.show).forEach(function (k) { state.show[k] = shown.indexOf(k) >= 0; });
    }
    state.filters = {};
    FILTER_KEYS.forEach(function (k) {
      if (!p.get(k)) return;
      state.filters[k] = ["category", "type", "status"].indexOf(k) >= 0 ? p.get(k).split(",") : p.get(k);
    });
    state.asset = p.get("asset") || null;
  }
  function writeHash() {
    var p = new URLSearchParams();
    if (map) {
      var c = map.getCenter();
      p.set("map", map.getZoom() + "/" + c.lat.toFixed(5) + "/" + c.lng.toFixed(5));
    }
    if (state.base !== "none") p.set("base", state.base);
    p.set("show", Object.keys(state.show).filter(function (k) { return state.show[k]; }).join(","));
    new URLSearchParams(filterQuery()).forEach(function (v, k) { p.set(k, v); });
    if (state.asset) p.set("asset", state.asset);
    history.replaceState(null, "", "#" + p.toString().replace(/%2C/g, ",").replace(/%2F/g, "/"));
    updateExportLinks();
  }
  // The export buttons export what the township/village filters show.
  function updateExportLinks() {
    document.querySelectorAll("a.export").forEach(function (a) {
      var url = new URL(a.href, location.href);
      ["township", "village"].forEach(function (k) {
        if (state.filters[k]) url.searchParams.set(k, state.filters[k]); else url.searchParams.delete(k);
      });
      a.href = url.pathname + url.search;
    });
  }

  // ---------- symbolizers ----------
  var P = window.protomapsL;
  function counting(symbolizer, record) {
    var wrapped = {draw: function (ctx, geom, z, f) { record(f); symbolizer.draw(ctx, geom, z, f); }};
    if (symbolizer.before) wrapped.before = function (ctx, z) { symbolizer.before(ctx, z); };
    return wrapped;
  }
  function typeColour(z, f) { return (f && assetStyle.typeColours[f.props.type]) || "#666"; }
  // Each rebuilt layer gets a generation; late draws of a removed layer are not counted.
  var generations = {assets: 0, villages: 0, townships: 0};
  function recorder(name, fn, gen) {
    gen = gen || ++generations[name];
    return function (f) { if (generations[name] === gen) fn(f); };
  }

  function areaLayer(name) {
    var s = layerDefs[name].style;
    var record = recorder(name, function (f) { stats[name][f.props.code] = f.props.name; });
    var query = name === "villages" ? filterQuery(["township"]) : "";
    var layer = P.leafletLayer({
      url: "/tiles/" + name + "/{z}/{x}/{y}.mvt" + (query ? "?" + query : ""),
      levelDiff: 0, maxDataZoom: 16, pane: name === "townships" ? "townships" : "villages", attribution: "",
      paintRules: [
        {dataLayer: name, symbolizer: counting(new P.PolygonSymbolizer({fill: s.fill, opacity: s.fillOpacity}), record)},
        {dataLayer: name, symbolizer: new P.LineSymbolizer({color: s.stroke, width: s.width})},
      ],
      labelRules: [{
        dataLayer: name + "_labels", minzoom: name === "townships" ? 0 : 11,
        symbolizer: new P.CenteredTextSymbolizer({
          labelProps: ["name"], fill: s.label, stroke: "#ffffff", width: 3,
          font: name === "townships" ? "600 14px sans-serif" : "12px sans-serif",
        }),
      }],
    });
    return layer;
  }

  function assetLayer() {
    var query = filterQuery();
    var recordAsset = recorder("assets", function (f) { stats.assets[f.props.code] = f.props.type; });
    var recordCluster = recorder("assets", function () { stats.clusters += 1; }, generations.assets);
    return P.leafletLayer({
      url: "/tiles/assets/{z}/{x}/{y}.mvt" + (query ? "?" + query : ""),
      levelDiff: 0, maxDataZoom: 16, pane: "assets", attribution: "",
      paintRules: [
        {dataLayer: "assets", filter: function (z, f) { return f.geomType === 3; },
         symbolizer: counting(new P.PolygonSymbolizer({fill: typeColour, opacity: 0.55, perFeature: true}), recordAsset)},
        {dataLayer: "assets", filter: function (z, f) { return f.geomType === 2; },
         symbolizer: counting(new P.LineSymbolizer({color: typeColour, width: 3.5, perFeature: true}), recordAsset)},
        {dataLayer: "assets", filter: function (z, f) { return f.geomType === 1; },
         symbolizer: counting(new P.CircleSymbolizer({radius: 5, fill: typeColour, stroke: "#ffffff", width: 1.5}),
                              recordAsset)},
        {dataLayer: "clusters",
         symbolizer: counting(new P.CircleSymbolizer({
           radius: function (z, f) { return 6 + Math.min(9, Math.sqrt(f ? f.props.count : 1) * 1.2); },
           fill: function (z, f) { return (f && assetStyle.categoryColours[f.props.category]) || assetStyle.cluster; },
           opacity: 0.8, stroke: "#ffffff", width: 1.5,
         }), recordCluster)},
      ],
      labelRules: [{
        dataLayer: "clusters",
        symbolizer: new P.CenteredTextSymbolizer({labelProps: ["label"], fill: "#ffffff", font: "600 11px sans-serif"}),
      }],
    });
  }

  function watch(name, layer) {
    stats.loading[name] = true;
    layer.on("loading", function () { stats.loading[name] = true; });
    layer.on("load", function () { stats.loading[name] = false; });
    return layer;
  }
  window.__mapIdle = function () {
    return Object.keys(stats.loading).every(function (k) { return !stats.loading[k] || !state.show[k]; });
  };

  // ---------- map ----------
  var map = null;
  var overlays = {};
  var layerControl = null;
  var highlight = null;

  function buildOverlay(name) {
    var layer = name === "assets" ? assetLayer() : areaLayer(name);
    return watch(name, layer);
  }

  function refreshOverlays(names) {
    stats.generation += 1;
    names.forEach(function (name) {
      var old = overlays[name];
      if (name === "assets") { stats.assets = {}; stats.clusters = 0; } else { stats[name] = {}; }
      var layer = buildOverlay(name);
      if (layerControl && old) layerControl.removeLayer(old);
      if (old && map.hasLayer(old)) map.removeLayer(old);
      overlays[name] = layer;
      if (layerControl) layerControl.addOverlay(layer, layerDefs[name].label);
      if (state.show[name]) layer.addTo(map); else stats.loading[name] = false;
    });
  }

  function init(leafletMap) {
    map = leafletMap;
    window.__map = map;
    readHash();
    ["villages", "townships", "assets", "highlight"].forEach(function (pane, i) {
      map.createPane(pane);
      map.getPane(pane).style.zIndex = String(410 + i * 10);
    });
    if (state.z !== null) {
      map.setView([state.lat, state.lng], state.z);
    } else if (config.countyBbox) {
      var b = config.countyBbox;
      map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
    }
    // Basemaps
    var bases = {};
    config.basemaps.forEach(function (b) {
      var group = L.layerGroup(b.layers.map(function (t) {
        var opts = {maxNativeZoom: t.maxNativeZoom || 18, maxZoom: 19, attribution: t.attribution || ""};
        if (t.subdomains) opts.subdomains = t.subdomains;
        return L.tileLayer(t.url, opts);
      }));
      group.basemapId = b.id;
      bases[b.label] = group;
      if (b.id === state.base) group.addTo(map);
    });
    ["villages", "townships", "assets"].forEach(function (name) { overlays[name] = buildOverlay(name); });
    var overlayByLabel = {};
    ["townships", "villages", "assets"].forEach(function (name) {
      overlayByLabel[layerDefs[name].label] = overlays[name];
      if (state.show[name]) overlays[name].addTo(map); else stats.loading[name] = false;
    });
    layerControl = L.control.layers(bases, overlayByLabel, {collapsed: window.innerWidth < 700, position: "topright"}).addTo(map);
    map.on("baselayerchange", function (e) { state.base = e.layer.basemapId; writeHash(); });
    map.on("overlayadd overlayremove", function (e) {
      Object.keys(overlays).forEach(function (name) {
        if (overlays[name] === e.layer) state.show[name] = e.type === "overlayadd";
      });
      writeHash();
    });
    addLegend();

    map.on("moveend", writeHash);
    map.on("click", onMapClick);
    buildFilterPanel();
    buildSearch();
    var hadView = state.z !== null;
    if (state.asset) openAsset(state.asset, false, !hadView);
    else if (!hadView && state.filters.village) openArea(state.filters.village, true);
    writeHash();
    document.body.classList.add("map-ready");
  }
  window.geoAssetsMapInit = function (leafletMap) { init(leafletMap); };

  // ---------- legend ----------
  function addLegend() {
    var legend = L.control({position: "bottomright"});
    legend.onAdd = function () {
      var box = el("div", {"class": "map-legend", id: "legend"});
      box.appendChild(el("h3", null, "图例"));
      registry.categories.forEach(function (c) {
        var row = el("div", {"class": "legend-row"});
        var sw = el("span", {"class": "swatch dot"}); sw.style.background = c.colour;
        row.appendChild(sw); row.appendChild(el("span", null, c.label));
        box.appendChild(row);
      });
      var cl = el("div", {"class": "legend-row"});
      var csw = el("span", {"class": "swatch cluster"}, "n"); cl.appendChild(csw);
      cl.appendChild(el("span", null, "聚合：数字为资产数，颜色为主要类别")); box.appendChild(cl);
      ["townships", "villages"].forEach(function (name) {
        var row = el("div", {"class": "legend-row"});
        var sw = el("span", {"class": "swatch line"}); sw.style.borderColor = layerDefs[name].style.stroke;
        row.appendChild(sw); row.appendChild(el("span", null, layerDefs[name].legend[0].label));
        box.appendChild(row);
      });
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    legend.addTo(map);
  }

  // ---------- filter panel ----------
  function buildFilterPanel() {
    var form = document.getElementById("filters");
    var township = form.elements.township, village = form.elements.village;
    config.townships.forEach(function (t) { township.appendChild(el("option", {value: t.code}, t.name)); });
    function fillVillages() {
      var keep = village.value;
      while (village.options.length > 1) village.remove(1);
      config.villages.forEach(function (v) {
        if (!township.value || v.township === township.value) village.appendChild(el("option", {value: v.code}, v.name));
      });
      village.value = keep;
      if (village.value !== keep) village.value = "";
    }
    var typesBox = document.getElementById("filter-types");
    registry.categories.forEach(function (c) {
      var fs = el("fieldset", {"class": "category"});
      var legend = el("legend");
      var cbox = el("input", {type: "checkbox", name: "category_all", value: c.category, "data-category": c.category});
      legend.appendChild(cbox);
      legend.appendChild(el("span", null, c.label));
      fs.appendChild(legend);
      c.types.forEach(function (t) {
        var label = el("label", {"class": "type"});
        var input = el("input", {type: "checkbox", name: "type", value: t.type, "data-category": c.category});
        var sw = el("span", {"class": "swatch dot"}); sw.style.background = t.colour;
        label.appendChild(input); label.appendChild(sw); label.appendChild(el("span", null, t.label));
        fs.appendChild(label);
      });
      typesBox.appendChild(fs);
    });
    var statusBox = document.getElementById("filter-status");
    registry.statuses.forEach(function (s) {
      var label = el("label", {"class": "status"});
      label.appendChild(el("input", {type: "checkbox", name: "status", value: s.value}));
      label.appendChild(el("span", null, s.label));
      statusBox.appendChild(label);
    });

    function toForm() {
      var f = state.filters;
      township.value = f.township || "";
      fillVillages();
      village.value = f.village || "";
      var types = f.type && f.type.length ? f.type : null;
      var cats = f.category && f.category.length ? f.category : null;
      form.querySelectorAll("input[name=type]").forEach(function (i) {
        i.checked = types ? types.indexOf(i.value) >= 0 : (cats ? cats.indexOf(i.dataset.category) >= 0 : true);
      });
      syncCategoryBoxes();
      form.querySelectorAll("input[name=status]").forEach(function (i) {
        i.checked = !!(f.status && f.status.indexOf(i.value) >= 0);
      });
      form.elements.year_min.value = f.year_min || "";
      form.elements.year_max.value = f.year_max || "";
      form.elements.verified.value = f.verified || "";
    }
    function syncCategoryBoxes() {
      form.querySelectorAll("input[name=category_all]").forEach(function (c) {
        var boxes = form.querySelectorAll("input[name=type][data-category=" + c.value + "]");
        var on = Array.prototype.filter.call(boxes, function (b) { return b.checked; }).length;
        c.checked = on === boxes.length; c.indeterminate = on > 0 && on < boxes.length;
      });
    }
    function fromForm() {
      var f = {};
      if (township.value) f.township = township.value;
      if (village.value) f.village = village.value;
      var checked = Array.prototype.filter.call(form.querySelectorAll("input[name=type]"), function (i) { return i.checked; })
        .map(function (i) { return i.value; });
      if (checked.length < ALL_TYPES.length) f.type = checked.length ? checked : ["none"];
      var statuses = Array.prototype.filter.call(form.querySelectorAll("input[name=status]"), function (i) { return i.checked; })
        .map(function (i) { return i.value; });
      if (statuses.length) f.status = statuses;
      if (form.elements.year_min.value) f.year_min = form.elements.year_min.value;
      if (form.elements.year_max.value) f.year_max = form.elements.year_max.value;
      if (form.elements.verified.value) f.verified = form.elements.verified.value;
      return f;
    }
    form.addEventListener("change", function (e) {
      if (e.target.name === "category_all") {
        form.querySelectorAll("input[name=type][data-category=" + e.target.value + "]").forEach(function (i) {
          i.checked = e.target.checked;
        });
      }
      if (e.target === township) fillVillages();
      syncCategoryBoxes();
      var before = JSON.stringify(state.filters);
      state.filters = fromForm();
      if (state.filters.type && state.filters.type[0] === "none") state.filters.type = [];
      if (JSON.stringify(state.filters) === before) return;
      var villagesChanged = JSON.parse(before).township !== state.filters.township;
      refreshOverlays(villagesChanged ? ["assets", "villages"] : ["assets"]);
      writeHash();
    });
    form.addEventListener("reset", function () {
      setTimeout(function () { state.filters = {}; toForm(); refreshOverlays(["assets", "villages"]); writeHash(); }, 0);
    });
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    toForm();
    document.getElementById("toggle-filters").addEventListener("click", function () {
      document.body.classList.toggle("filters-open");
    });
  }

  // ---------- search ----------
  function buildSearch() {
    var input = document.getElementById("search-q");
    var list = document.getElementById("search-results");
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = input.value.trim();
        clear(list);
        if (!q) return;
        fetchJson("/api/v1/search/?q=" + encodeURIComponent(q)).then(function (data) {
          clear(list);
          if (!data.results.length) list.appendChild(el("li", {"class": "empty"}, "没有找到"));
          data.results.forEach(function (r) {
            var li = el("li", {"class": "result", "data-kind": r.kind, "data-code": r.code});
            var btn = el("button", {type: "button"}, r.label);
            btn.addEventListener("click", function () {
              clear(list);
              if (r.kind === "asset") {
                if (r.point) map.setView([r.point[1], r.point[0]], Math.max(map.getZoom(), 15));
                openAsset(r.code, true);
              } else {
                map.fitBounds([[r.bbox[1], r.bbox[0]], [r.bbox[3], r.bbox[2]]]);
                openArea(r.code);
              }
            });
            li.appendChild(btn);
            list.appendChild(li);
          });
        }).catch(function () { list.appendChild(el("li", {"class": "empty"}, "搜索失败")); });
      }, 250);
    });
  }

  // ---------- clicks ----------
  function onMapClick(e) {
    var tolerance = 8;
    var p = map.latLngToContainerPoint(e.latlng);
    var a = map.containerPointToLatLng([p.x - tolerance, p.y + tolerance]);
    var b = map.containerPointToLatLng([p.x + tolerance, p.y - tolerance]);
    var tryAssets = state.show.assets && map.getZoom() >= registry.detailMinZoom;
    var lookup = tryAssets
      ? fetchJson("/api/v1/assets/?page_size=20&bbox=" + [a.lng, a.lat, b.lng, b.lat].map(function (v) { return v.toFixed(6); }).join(",")
                  + (filterQuery() ? "&" + filterQuery() : ""))
      : Promise.resolve({features: []});
    lookup.then(function (data) {
      if (data.features.length) {
        var best = nearest(data.features, e.latlng);
        openAsset(best.id, true);
        return;
      }
      if (!state.show.villages && !state.show.townships) return;
      var level = state.show.villages ? "village" : "township";
      fetchJson("/api/v1/areas/?level=" + level + "&point=" + e.latlng.lng.toFixed(6) + "," + e.latlng.lat.toFixed(6))
        .then(function (areas) {
          if (!areas.features.length) return;
          var code = areas.features[0].id;
          openArea(code, true);
        });
    }).catch(function (err) { showError(err); });
  }
  function nearest(features, latlng) {
    var best = features[0], bestD = Infinity;
    features.forEach(function (f) {
      var g = f.geometry;
      if (g && g.type === "Point") {
        var d = map.latLngToContainerPoint([g.coordinates[1], g.coordinates[0]]).distanceTo(map.latLngToContainerPoint(latlng));
        if (d < bestD) { bestD = d; best = f; }
      } else if (bestD === Infinity) { best = f; }
    });
    return best;
  }

  // ---------- side panel ----------
  var panel = document.getElementById("side-panel");
  var panelBody = document.getElementById("side-body");
  document.getElementById("side-close").addEventListener("click", function () {
    document.body.classList.remove("panel-open");
    state.asset = null; stats.selected = null; stats.village = null;
    if (highlight) { map.removeLayer(highlight); highlight = null; }
    writeHash();
  });
  function showPanel(title) {
    clear(panelBody);
    document.getElementById("side-title").textContent = title;
    document.body.classList.add("panel-open");
  }
  function showError(err) {
    showPanel("出错了");
    panelBody.appendChild(el("p", {"class": "error"}, "数据加载失败：" + err.message));
  }
  function section(title) {
    var s = el("section", {"class": "panel-section"});
    s.appendChild(el("h3", null, title));
    panelBody.appendChild(s);
    return s;
  }
  function dl(parent, rows) {
    var d = el("dl");
    rows.forEach(function (r) { d.appendChild(el("dt", null, r[0])); d.appendChild(el("dd", null, fmt(r[1]))); });
    parent.appendChild(d);
  }

  function openAsset(code, fromClick, zoomTo) {
    return fetchJson("/api/v1/assets/" + encodeURIComponent(code) + "/").then(function (f) {
      var a = f.properties;
      a.code = a.code || f.id;  // the GeoJSON id is the asset code
      state.asset = a.code; stats.selected = a.code; stats.village = null;
      writeHash();
      showPanel(a.name);
      panel.dataset.kind = "asset"; panel.dataset.code = a.code;
      var basic = section("基本信息");
      dl(basic, [["资产编号", a.code], ["资产类别", a.category_label], ["资产类型", a.type_label],
                 ["资产状态", a.status_label], ["所属乡镇", a.township_name], ["所属村", a.village_name],
                 ["建成年份", a.year_built], ["项目名称", a.project_name], ["主管部门", a.department],
                 ["投资金额", money(a.total_investment)]]);
      var own = section("产权");
      dl(own, [["产权归属", a.ownership.owner_kind_label], ["确权状态", a.ownership.registration_status_label],
               ["确权日期", a.ownership.registration_date]]);
      if (a.owners.length) {
        var ul = el("ul");
        a.owners.forEach(function (o) { ul.appendChild(el("li", null, o.owner_name + "（" + o.owner_kind_label + "）" + o.share + "%")); });
        own.appendChild(ul);
      }
      var cus = section("管护");
      dl(cus, [["管护单位", a.custody.unit], ["管护责任人", a.custody.person], ["联系电话", a.custody.phone],
               ["管护方式", a.custody.method_label], ["年度管护经费", a.custody.yearly_funding === null ? null : money(a.custody.yearly_funding)],
               ["经营主体", a.operator]]);
      var fund = section("资金来源");
      if (a.funding.length) {
        var ful = el("ul");
        a.funding.forEach(function (l) { ful.appendChild(el("li", null, l.source_label + "：" + money(l.amount))); });
        fund.appendChild(ful);
      } else fund.appendChild(el("p", null, "—"));
      var ver = section("最近核查");
      ver.appendChild(el("p", {"class": "verified"}, a.last_verified_at ? new Date(a.last_verified_at).toLocaleString("zh-CN") : "尚未核查"));
      if (a.disposal) {
        var dis = section("处置");
        dl(dis, [["处置方式", a.disposal.method], ["批准文件", a.disposal.approval_reference], ["批准日期", a.disposal.approved_on]]);
      }
      var hist = section("变更记录（共 " + a.history.count + " 条）");
      var hul = el("ul", {"class": "history"});
      a.history.recent.forEach(function (h) {
        hul.appendChild(el("li", null, new Date(h.date).toLocaleString("zh-CN") + " " + h.type + (h.user ? " · " + h.user : "") + (h.reason ? " · " + h.reason : "")));
      });
      hist.appendChild(hul);
      var link = el("a", {href: a.page_url, "class": "full-page", id: "asset-page-link"}, "查看资产完整信息 →");
      panelBody.appendChild(link);
      if (highlight) map.removeLayer(highlight);
      if (f.geometry) {
        highlight = L.geoJSON(f.geometry, {pane: "highlight", style: {color: "#ffd400", weight: 6, opacity: 0.9, fill: false},
          pointToLayer: function (feat, ll) { return L.circleMarker(ll, {pane: "highlight", radius: 10, color: "#ffd400", weight: 4, fill: false}); }
        }).addTo(map);
        if (zoomTo) map.fitBounds(highlight.getBounds(), {maxZoom: 16});
      }
    }).catch(function (err) {
      if (!fromClick) { state.asset = null; writeHash(); return; }
      showError(err);
    });
  }

  function openArea(code, zoom) {
    return fetchJson("/api/v1/areas/" + encodeURIComponent(code) + "/summary/").then(function (s) {
      state.asset = null; stats.selected = null; stats.village = s.code;
      if (highlight) { map.removeLayer(highlight); highlight = null; }
      if (zoom) map.fitBounds([[s.bbox[1], s.bbox[0]], [s.bbox[3], s.bbox[2]]]);
      writeHash();
      showPanel(s.name + "（" + s.level_label + "）");
      panel.dataset.kind = s.level; panel.dataset.code = s.code;
      var tot = section("概况");
      dl(tot, [["资产数量", s.total.count], ["投资合计", money(s.total.investment)], ["已核查", s.total.verified],
               ["上级", s.parent_name]]);
      var cat = section("按类别");
      var table = el("table", {"class": "summary"});
      var head = el("tr"); ["类别", "数量", "投资"].forEach(function (h) { head.appendChild(el("th", null, h)); });
      table.appendChild(head);
      s.by_category.forEach(function (r) {
        var tr = el("tr");
        tr.appendChild(el("td", null, r.label)); tr.appendChild(el("td", null, r.count)); tr.appendChild(el("td", null, money(r.investment)));
        table.appendChild(tr);
      });
      cat.appendChild(table);
      var st = section("按状态");
      dl(st, s.by_status.filter(function (r) { return r.count; }).map(function (r) { return [r.label, r.count]; }));
      if (s.report_url) panelBody.appendChild(el("a", {href: s.report_url, "class": "full-page", id: "village-report-link"}, "查看村级报告 →"));
    }).catch(showError);
  }
})();
