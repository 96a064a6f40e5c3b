/* The inspector's map. Leaflet (django-leaflet) + protomaps-leaflet drawing our own MVT tiles.
 * Every piece of data shown in panels is put in the DOM with textContent (never innerHTML). */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("map-config").textContent);
  var registry = config.registry;
  var layerDefs = {};
  registry.layers.forEach(function (l) { layerDefs[l.name] = l; });
  var assetStyle = layerDefs.assets.style;
  var TYPES = {};  // type -> {label, colour, shape, dash, category}
  var ALL_TYPES = [];
  var CATEGORY_LABELS = {}, STATUS_LABELS = {};
  registry.categories.forEach(function (c) {
    CATEGORY_LABELS[c.category] = c.label;
    c.types.forEach(function (t) { TYPES[t.type] = Object.assign({category: c.category}, t); ALL_TYPES.push(t.type); });
  });
  registry.statuses.forEach(function (s) { STATUS_LABELS[s.value] = s.label; });
  // The export links carry the register's filters (importers' export knows no project); staff also filter by project.
  var EXPORT_KEYS = ["township", "village", "category", "type", "status", "year_min", "year_max", "verified"];
  var FILTER_KEYS = EXPORT_KEYS.concat(config.projects ? ["project"] : []);
  var PHONE = window.matchMedia("(max-width: 700px)");  // the same width as map.css

  // Exposed for tests and debugging: what has been drawn, and whether layers are idle.
  // firstRender: ms since navigation start when the assets of the first view were drawn (bench/maps.py);
  // pointsMode: whether the clusters are drawn from the view's document (true) or from the cluster tiles (false).
  var stats = window.__mapStats = {assets: {}, clusters: 0, villages: {}, townships: {}, loading: {}, selected: null,
                                   village: null, generation: 0, focus: null, count: null, firstRender: null,
                                   project: null, sameProject: null, pointsMode: null, firstClustersWritten: false,
                                   // the view's clusters as last drawn: [x, y, radius, count, its label or null];
                                   // the cluster tiles' labels by count
                                   bubbles: [], tileLabels: {}};

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
  function hasFilters() { return filterQuery() !== ""; }
  function fmt(n) { return n === null || n === undefined || n === "" ? "—" : String(n); }
  function number(n) { return Number(n).toLocaleString("zh-CN"); }  // 1,258,000, not 1258000
  // A cluster's count inside its 30 px bubble: 15443 → "1.5万" (Chinese), "15K" (English); below 10,000 as is.
  var compact = null;
  function shortCount(n) {
    if (n < 10000) return String(n);
    compact = compact || new Intl.NumberFormat(document.documentElement.lang === "en" ? "en" : "zh-CN",
                                               {notation: "compact", maximumFractionDigits: 1});
    return compact.format(n);
  }
  function money(n) { return n === null || n === undefined ? "—" : interpolate(gettext("%(amount)s (10k yuan)"), {amount: Number(n).toLocaleString("zh-CN", {maximumFractionDigits: 4})}, true); }
  // Times are the county's (Asia/Shanghai) whatever the browser's clock says, written like the asset page
  // writes them in Chinese (Django's zh-hans format): "2025年5月1日 08:00" (the catalogue's wording).
  // Built on first use: a fresh page's first Intl.DateTimeFormat with a time zone takes 20-30 ms (ICU's data), which
  // the map's first draw does not wait for.
  var timeParts = null;
  function fmtTime(iso) {
    var p = {};
    timeParts = timeParts || new Intl.DateTimeFormat("zh-CN", {timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit",
                                                               day: "2-digit", hour: "2-digit", minute: "2-digit",
                                                               hourCycle: "h23"});
    timeParts.formatToParts(new Date(iso)).forEach(function (x) { p[x.type] = x.value; });
    return interpolate(gettext("%(year)s-%(month)s-%(day)s %(hour)s:%(minute)s"),
                       {year: p.year, month: Number(p.month), day: Number(p.day), hour: p.hour, minute: p.minute}, true);
  }
  function bboxBounds(b) { return L.latLngBounds([b[1], b[0]], [b[3], b[2]]); }

  // ---------- permalink (hash) ----------
  var lastHash = null;
  function readHash() {
    var p = new URLSearchParams(location.hash.replace(/^#/, ""));
    var m = (p.get("map") || "").split("/");
    state.z = null;
    if (m.length === 3 && m.every(function (v) { return v !== "" && !isNaN(Number(v)); })) {
      state.z = Number(m[0]); state.lat = Number(m[1]); state.lng = Number(m[2]);
    }
    state.base = config.basemapDefault;
    if (p.get("base") && config.basemaps.some(function (b) { return b.id === p.get("base"); })) state.base = p.get("base");
    var shown = p.has("show") ? p.get("show").split(",") : null;
    Object.keys(state.show).forEach(function (k) { state.show[k] = !shown || shown.indexOf(k) >= 0; });
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
    lastHash = location.hash;
    updateExportLinks();
  }
  // A permalink pasted into an open tab (or back/forward): apply its view, layers, filters and asset.
  function applyHash() {
    if (location.hash === lastHash) return;
    var prev = {filters: state.filters, base: state.base, show: JSON.stringify(state.show), asset: state.asset};
    readHash();
    var hadView = state.z !== null;
    if (!state.asset && prev.asset) closePanel();  // before the view: closing resizes the map
    if (hadView) map.setView([state.lat, state.lng], state.z, {animate: false});
    if (state.base !== prev.base) setBase(state.base);
    if (JSON.stringify(state.show) !== prev.show) applyShow();
    if (JSON.stringify(state.filters) !== JSON.stringify(prev.filters)) {
      syncForm();
      filtersChanged(prev.filters, !hadView);
    }
    if (state.asset && state.asset !== prev.asset) openAsset(state.asset, {fit: !hadView});
    writeHash();
  }
  window.addEventListener("hashchange", applyHash);
  window.addEventListener("popstate", applyHash);

  // The export links export what the filters show.
  function updateExportLinks() {
    var query = new URLSearchParams(filterQuery(EXPORT_KEYS));
    document.querySelectorAll("a.export").forEach(function (a) {
      var url = new URL(a.href, location.href);
      FILTER_KEYS.forEach(function (k) { url.searchParams.delete(k); });
      query.forEach(function (v, k) { url.searchParams.set(k, v); });
      a.href = url.pathname + url.search.replace(/%2C/g, ",");
    });
    var note = document.getElementById("export-project-note");
    if (note) note.hidden = !state.filters.project;
  }

  // Above the limit of one export the links say so and lead nowhere (the server refuses it too). With a project
  // filter the count is not the export's (the exports leave it out): the server alone decides then.
  function updateExportLimit(count) {
    var over = !state.filters.project && count > config.exportMax;
    document.getElementById("export-limit-note").hidden = !over;
    document.querySelectorAll("a.export").forEach(function (a) {
      if (over) a.setAttribute("aria-disabled", "true"); else a.removeAttribute("aria-disabled");
    });
  }
  document.querySelectorAll("a.export").forEach(function (a) {
    a.addEventListener("click", function (e) { if (a.getAttribute("aria-disabled")) e.preventDefault(); });
  });

  // ---------- symbolizers ----------
  // protomaps-leaflet (the tile layers) is loaded after the first view is drawn: the view's clusters need none of it,
  // and its script costs the first view ~10 ms of evaluation otherwise. Runs fn(P) once it is in.
  var protomaps = null;
  function withProtomaps(fn) {
    if (!protomaps) protomaps = new Promise(function (resolve, reject) {
      if (window.protomapsL) { resolve(window.protomapsL); return; }
      var script = document.createElement("script");
      script.src = document.querySelector('meta[name="protomaps-script"]').content;
      script.onload = function () { stats.protomapsLoaded = performance.now(); resolve(window.protomapsL); };
      script.onerror = reject;
      document.head.appendChild(script);
    });
    return protomaps.then(fn);
  }
  function counting(symbolizer, record) {
    var wrapped = {draw: function (ctx, geom, z, f) { record(f); symbolizer.draw(ctx, geom, z, f); }};
    if (symbolizer.before) wrapped.before = function (ctx, z) { symbolizer.before(ctx, z); };
    return wrapped;
  }
  // A cluster tile's count written as the view's clusters write it ("1.5万" in a 30 px bubble, not "15443").
  function shortened(symbolizer) {
    return {place: function (layout, geom, f) {
      f.props.label = shortCount(f.props.count);
      stats.tileLabels[f.props.count] = f.props.label;
      return symbolizer.place(layout, geom, f);
    }};
  }
  function typeColour(z, f) { return (f && TYPES[f.props.type] && TYPES[f.props.type].colour) || "#666"; }
  function typeDash(z, f) { return (f && TYPES[f.props.type] && TYPES[f.props.type].dash) || []; }
  // Each rebuilt layer gets a generation; late draws of a removed layer are not counted.
  var generations = {assets: 0, villages: 0, townships: 0};
  function recorder(name, fn, gen) {
    gen = gen || ++generations[name];
    return function (f) { if (generations[name] === gen) fn(f); };
  }

  // A tile source whose requests are shared (for a minute) by the layers drawing one tile set in two panes.
  var tileFetches = new Map();
  function sharedTiles(template) {
    return {getZxy: function (z, x, y) {
      var url = template.replace("{z}", z).replace("{x}", x).replace("{y}", y);
      var hit = tileFetches.get(url);
      if (!hit || Date.now() - hit.time > 60000) {
        if (tileFetches.size > 300) tileFetches.delete(tileFetches.keys().next().value);
        hit = {time: Date.now(), data: fetch(url, {credentials: "same-origin"}).then(function (r) {
          if (!r.ok) throw new Error(r.status + " " + url);
          return r.arrayBuffer();
        }).then(function (data) { return {data: data}; }, function (err) { tileFetches.delete(url); throw err; })};
        tileFetches.set(url, hit);
      }
      return hit.data;
    }};
  }

  function areaLayer(name) {
    var s = layerDefs[name].style;
    var record = recorder(name, function (f) { stats[name][f.props.code] = f.props.name; });
    var gen = generations[name];
    var query = name === "villages" ? filterQuery(["township"]) : "";
    var tiles = sharedTiles("/tiles/" + name + "/{z}/{x}/{y}.mvt" + (query ? "?" + query : ""));
    var group = L.layerGroup([]);
    stats.loading[name] = stats.loading[name + ":labels"] = true;
    watched[name] = watched[name + ":labels"] = group;  // loading while on the map, until its tile layers are in
    withProtomaps(function (P) {
      if (gen !== generations[name]) return;  // rebuilt meanwhile
      var shapes = P.leafletLayer({
        url: tiles, levelDiff: 0, maxDataZoom: 16, pane: name, attribution: "",
        paintRules: [
          {dataLayer: name, symbolizer: counting(new P.PolygonSymbolizer({fill: s.fill, opacity: s.fillOpacity}), record)},
          {dataLayer: name, symbolizer: new P.LineSymbolizer({color: s.stroke, width: s.width})},
        ],
      });
      var labels = P.leafletLayer({
        url: tiles, levelDiff: 0, maxDataZoom: 16, pane: "labels", attribution: "", paintRules: [],
        labelRules: [{
          dataLayer: name + "_labels", minzoom: s.labelMinZoom || 0,  // the tiles carry no names below it
          symbolizer: new P.CenteredTextSymbolizer({
            labelProps: ["name"], fill: s.label, stroke: "#ffffff", width: 3,
            font: name === "townships" ? "600 14px sans-serif" : "12px sans-serif",
          }),
        }],
      });
      watch(name, shapes);
      watch(name + ":labels", labels);
      group.addLayer(shapes).addLayer(labels);
    });
    return group;
  }

  // Below detailMinZoom the view's clusters come in ONE document (/api/v1/map/clusters/: the view's cluster tiles,
  // the same clusters) drawn on one canvas, instead of a round of tile requests; the page's head asks for the first
  // view's while the scripts load. Filters only the tiles can serve ({"clusters": null}): the cluster tiles.
  var CLUSTER_KEYS = ["z", "x0", "y0", "x1", "y1"];
  function sortedFilters() {
    var q = new URLSearchParams(filterQuery());
    q.sort();
    return q.toString();
  }
  function covers(have, need) {
    return have.z === need.z && have.x0 <= need.x0 && have.y0 <= need.y0 && have.x1 >= need.x1 && have.y1 >= need.y1;
  }
  // The default first view's clusters written into the page (no permalink, no filters): no request at all.
  var firstClusters = null;
  function fetchClusters(want, need) {
    var filters = sortedFilters(), early = window.__mapClustersEarly, first = firstClusters;
    window.__mapClustersEarly = firstClusters = null;  // once: later views and other filters ask anew
    var written = first && filters === "" ? first.filter(function (r) { return covers(r, need); })[0] : null;
    if (written) {
      stats.firstClustersWritten = true;
      return Promise.resolve({range: written, doc: written.doc});
    }
    if (early && early.filters === filters && covers(early, need)) {
      return early.data.then(function (doc) { return {range: early, doc: doc}; });
    }
    var q = new URLSearchParams(filters);
    CLUSTER_KEYS.forEach(function (k) { q.set(k, want[k]); });
    q.sort();
    return fetchJson("/api/v1/map/clusters/?" + q.toString()).then(function (doc) { return {range: want, doc: doc}; });
  }

  function assetLayer() {
    var query = filterQuery();
    var recordAsset = recorder("assets", function (f) { stats.assets[f.props.code] = f.props.type; });
    var gen = generations.assets;
    var recordCluster = recorder("assets", function () { stats.clusters += 1; }, gen);
    var tiles = sharedTiles("/tiles/assets/{z}/{x}/{y}.mvt" + (query ? "?" + query : ""));
    var group = L.layerGroup([]), tilesShown = false, layers = null;
    // The tile layers, made the first time they are shown (protomaps-leaflet loaded by then). Clusters are drawn
    // under the area names, the assets themselves above them: a name never hides an asset.
    function makeTileLayers(P) {
      var clusters = P.leafletLayer({
        url: tiles, levelDiff: 0, maxDataZoom: 16, pane: "clusters", attribution: "",
        paintRules: [{dataLayer: "clusters", symbolizer: counting(new P.CircleSymbolizer({
          radius: clusterRadius, fill: function (z, f) { return clusterColour(f && f.props.category); },
          opacity: 0.8, stroke: "#ffffff", width: 1.5,
        }), recordCluster)}],
        labelRules: [{dataLayer: "clusters", symbolizer: shortened(
          new P.CenteredTextSymbolizer({labelProps: ["label"], fill: "#ffffff", font: CLUSTER_FONT}))}],
      });
      var assets = P.leafletLayer({
        url: tiles, levelDiff: 0, maxDataZoom: 16, pane: "assets", attribution: "",
        paintRules: [
          {dataLayer: "assets", filter: function (z, f) { return f.geomType === 3; },
           symbolizer: counting(new P.PolygonSymbolizer({fill: typeColour, opacity: 0.55, stroke: typeColour, width: 1,
                                                         perFeature: true}), recordAsset)},
          {dataLayer: "assets", filter: function (z, f) { return f.geomType === 2; },
           symbolizer: counting(new P.LineSymbolizer({dash: typeDash, dashColor: typeColour, dashWidth: 3.5,
                                                      perFeature: true}), recordAsset)},
          {dataLayer: "assets", filter: function (z, f) { return f.geomType === 1; },
           symbolizer: counting(new P.CircleSymbolizer({radius: 5, fill: typeColour, stroke: "#ffffff", width: 1.5}),
                                recordAsset)},
        ],
      });
      watch("assets", assets);
      watch("assets:clusters", clusters);
      clusters.options.minZoom = assets.options.minZoom = registry.detailMinZoom;
      group.detail = assets;  // onMapClick looks up a clicked point in its tiles
      return [clusters, assets];
    }
    function withTiles(fn) {
      if (!layers) {  // loading until they are made and their tiles drawn
        stats.loading.assets = stats.loading["assets:clusters"] = true;
        watched.assets = watched["assets:clusters"] = group;
      }
      withProtomaps(function (P) {
        if (gen !== generations.assets) return;
        if (!layers) layers = makeTileLayers(P);
        fn(layers);
        firstRender();
      });
    }
    stats.loading.assets = stats.loading["assets:clusters"] = false;
    watched.assets = watched["assets:clusters"] = null;
    // the tiles from detailMinZoom on (their own clusters only where a detail tile is too dense) unless the view
    // holds more than config.denseView assets, the clusters below it (and in such a dense view) from the view's
    // document; back to the cluster tiles when only they can serve the filters
    stats.loading["assets:points"] = true;
    stats.pointsMode = true;
    var view = new ViewClusters({
      pane: "clusters", maxZoom: registry.detailMinZoom - 1, dense: config.denseView, denseMaxZoom: config.denseMaxZoom,
      record: recordCluster, fetch: fetchClusters,
      state: function (loading) {
        if (gen !== generations.assets) return;
        stats.loading["assets:points"] = loading;
        if (!loading) firstRender();
      },
      detail: function (on) {  // the asset tiles drawn (a detail zoom, not too dense) or not (added: loads them)
        if (gen !== generations.assets || on === tilesShown) return;
        tilesShown = on;
        if (!on && !layers) return;
        withTiles(function (both) {
          both.forEach(function (layer) { if (tilesShown) group.addLayer(layer); else group.removeLayer(layer); });
        });
      },
      tilesOnly: function () {
        if (gen !== generations.assets) return;
        group.removeLayer(view);
        stats.pointsMode = false;
        tilesShown = true;
        stats.loading["assets:points"] = false;
        withTiles(function (both) {
          both.forEach(function (layer) {
            layer.options.minZoom = 0;
            if (group.hasLayer(layer)) group.removeLayer(layer);
            group.addLayer(layer);  // (re-)added: loads its tiles
          });
        });
      },
    });
    group.addLayer(view);
    return group;
  }

  var CLUSTER_FONT = "600 11px sans-serif";
  function clusterRadius(z, f) { return 6 + Math.min(9, Math.sqrt(f ? f.props.count : 1) * 1.2); }
  function clusterColour(category) { return assetStyle.categoryColours[category] || assetStyle.cluster; }

  // The server's clusters are one per grid cell (32 px), placed at their assets' mean, so two of neighbouring cells
  // can lie on each other. Bubbles that would overlap are drawn as one, the larger counts first: the counts summed,
  // where the larger one stands and in its colour, its size from the sum (again until none overlaps, as a sum's
  // bubble is larger). Every asset of the view is still counted once.
  // bubbles: [{x, y, count, category}] in screen pixels; returns them merged, each with its radius r.
  function mergeOverlapping(bubbles) {
    var reach = 2 * clusterRadius(0, {props: {count: Infinity}});
    function pass(list) {
      var grid = {}, kept = [];
      list.sort(function (a, b) { return b.count - a.count; }).forEach(function (c) {
        var r = clusterRadius(0, {props: c}), gx = Math.floor(c.x / reach), gy = Math.floor(c.y / reach), into = null;
        for (var dx = -1; dx <= 1 && !into; dx++) {
          for (var dy = -1; dy <= 1 && !into; dy++) {
            into = (grid[(gx + dx) + "," + (gy + dy)] || []).find(function (b) {
              return Math.hypot(b.x - c.x, b.y - c.y) < b.r + r;
            }) || null;
          }
        }
        if (into) { into.count += c.count; into.r = clusterRadius(0, {props: into}); return; }
        var b = {x: c.x, y: c.y, count: c.count, category: c.category, r: r}, k = gx + "," + gy;
        (grid[k] = grid[k] || []).push(b);
        kept.push(b);
      });
      return kept;
    }
    var merged = pass(bubbles);
    for (var n = bubbles.length; merged.length < n; ) { n = merged.length; merged = pass(merged); }
    return merged;
  }

  // The view's clusters on one canvas (as the cluster tiles draw them), fetched on each view change below maxZoom;
  // a tile of margin around the view, so that a small move needs no request. Above maxZoom (the detail zooms, up to
  // denseMaxZoom) the clusters of maxZoom tell how many assets the view holds: more than `dense`, they are drawn
  // (16,000 overlapping symbols are no map to read), else the detail tiles are (options.detail).
  var ViewClusters = L.Layer.extend({
    initialize: function (options) {
      L.setOptions(this, options);
      this._have = null; this._list = null; this._token = 0;
    },
    onAdd: function (map) {
      this._canvas = L.DomUtil.create("canvas", "leaflet-zoom-hide view-clusters");
      this._canvas.style.position = "absolute";
      this._canvas.style.pointerEvents = "none";
      this.getPane().appendChild(this._canvas);
      map.on("moveend viewreset resize", this._update, this);
      this._update();
    },
    onRemove: function (map) {
      map.off("moveend viewreset resize", this._update, this);
      L.DomUtil.remove(this._canvas);
      this._token += 1;
      this._dense = false;
    },
    // the tiles of zoom z under the view (the view's pixel bounds taken to zoom z), with a margin
    _range: function (z, margin) {
      var b = this._map.getPixelBounds(), n = Math.pow(2, z), s = Math.pow(2, z - this._map.getZoom());
      function clamp(v) { return Math.max(0, Math.min(n - 1, v)); }
      return {z: z, x0: clamp(Math.floor(b.min.x * s / 256) - margin), y0: clamp(Math.floor(b.min.y * s / 256) - margin),
              x1: clamp(Math.floor((b.max.x * s - 1) / 256) + margin),
              y1: clamp(Math.floor((b.max.y * s - 1) / 256) + margin)};
    },
    // at a detail zoom: the clusters when the view holds more than `dense` assets, else the detail tiles
    _decide: function () {
      var bounds = this._map.getBounds(), inView = 0;
      this._list.forEach(function (c) { if (bounds.contains(c.latlng)) inView += c.count; });
      this._dense = inView > this.options.dense;
      this.options.detail(!this._dense);
      this._draw();
      this.options.state(false);
    },
    _update: function () {
      var z = Math.round(this._map.getZoom()), detailZoom = z > this.options.maxZoom;
      if (!detailZoom) { this._dense = false; this.options.detail(false); }
      if (detailZoom && (!this.options.dense || z > this.options.denseMaxZoom)) {
        this._token += 1; this._dense = false; this._draw(); this.options.detail(true); this.options.state(false); return;
      }
      z = Math.min(z, this.options.maxZoom);
      var need = this._range(z, 0);
      if (this._have && covers(this._have, need)) {
        if (detailZoom) { this._decide(); return; }
        this._draw(); this.options.state(false); return;
      }
      var want = this._range(z, detailZoom ? 0 : 1);  // a detail zoom's view is a fraction of a tile of z
      if ((want.x1 - want.x0 + 1) * (want.y1 - want.y0 + 1) > 150) want = need;  // the server's VIEW_CLUSTERS_MAX_TILES
      var token = ++this._token, self = this;
      this.options.state(true);
      this._draw();  // meanwhile what is known at this zoom
      this.options.fetch(want, need).then(function (got) {
        if (token !== self._token || !self._map) return;
        if (got.doc.clusters === null) { self.options.tilesOnly(); return; }
        self._have = got.range;
        self._list = got.doc.clusters.map(function (c) {
          return {count: c[0], category: c[1], latlng: L.Projection.SphericalMercator.unproject(L.point(c[2], c[3]))};
        });
        if (Math.round(self._map.getZoom()) > self.options.maxZoom) { self._decide(); return; }
        self._draw();
        self.options.state(false);
      }, function () {
        if (token === self._token && self._map) self.options.tilesOnly();  // the tiles then, as before
      });
    },
    _draw: function () {
      var map = this._map, canvas = this._canvas, z = Math.round(map.getZoom()), max = this.options.maxZoom;
      var drawable = this._list && this._have && (z > max ? this._dense && this._have.z === max : this._have.z === z);
      if (!drawable) {
        // nothing to draw: an empty canvas, and no view-sized one allocated again on each move (the detail zooms)
        if (this._drawn) { canvas.width = 0; canvas.height = 0; this._drawn = false; }
        return;
      }
      this._drawn = true;
      var size = map.getSize(), ratio = window.devicePixelRatio || 1, pad = 32;
      L.DomUtil.setPosition(canvas, map.containerPointToLayerPoint([-pad, -pad]));
      canvas.width = (size.x + 2 * pad) * ratio; canvas.height = (size.y + 2 * pad) * ratio;
      canvas.style.width = (size.x + 2 * pad) + "px"; canvas.style.height = (size.y + 2 * pad) + "px";
      var ctx = canvas.getContext("2d"), labels = [], near = [];
      ctx.setTransform(ratio, 0, 0, ratio, ratio * pad, ratio * pad);
      this._list.forEach(function (c) {
        var p = map.latLngToContainerPoint(c.latlng);
        if (p.x < -pad || p.y < -pad || p.x > size.x + pad || p.y > size.y + pad) return;
        near.push({x: p.x, y: p.y, count: c.count, category: c.category});
      });
      stats.bubbles = [];
      mergeOverlapping(near).forEach(function (b) {
        ctx.globalAlpha = 0.8;
        ctx.fillStyle = clusterColour(b.category);
        ctx.beginPath(); ctx.arc(b.x, b.y, b.r, 0, 2 * Math.PI); ctx.fill();
        ctx.lineWidth = 1.5; ctx.strokeStyle = "#ffffff"; ctx.stroke();
        var drawn = [b.x, b.y, b.r, b.count, null];
        labels.push([b, shortCount(b.count), b.count, drawn]);
        stats.bubbles.push(drawn);
        this.options.record();
      }, this);
      ctx.globalAlpha = 1; ctx.fillStyle = "#ffffff"; ctx.font = CLUSTER_FONT;
      ctx.textAlign = "center"; ctx.textBaseline = "middle";
      // a count is left out where it would overlap one already written (the larger counts first), as the tiles'
      // labeler does
      var placed = [];
      labels.sort(function (a, b) { return b[2] - a[2]; }).forEach(function (l) {
        var w = ctx.measureText(l[1]).width / 2 + 1, box = [l[0].x - w, l[0].y - 7, l[0].x + w, l[0].y + 7];
        if (placed.some(function (q) { return q[0] < box[2] && box[0] < q[2] && q[1] < box[3] && box[1] < q[3]; })) return;
        placed.push(box);
        ctx.fillText(l[1], l[0].x, l[0].y);
        l[3][4] = l[1];
      });
    },
  });

  var watched = {};
  function watch(name, layer) {
    stats.loading[name] = true;
    watched[name] = layer;
    layer.on("loading", function () { stats.loading[name] = true; });
    layer.on("load", function () { stats.loading[name] = false; firstRender(); });
    return layer;
  }
  // Loading, unless the map's zoom is below the layer's (the asset tiles when the clusters are drawn here).
  function busy(name) {
    var layer = watched[name];
    if (layer && layer.options.minZoom !== undefined && map && map.getZoom() < layer.options.minZoom) return false;
    if (layer && map && !map.hasLayer(layer)) return false;  // the asset tiles while the view's clusters are drawn
    return stats.loading[name] !== false;
  }
  // The assets of the first view are drawn (the clusters from the points document, or every asset tile of the
  // view by both tile layers): marked for the benchmark.
  function firstRender() {
    if (stats.firstRender !== null || ["assets", "assets:clusters", "assets:points"].some(busy)) return;
    stats.firstRender = performance.now();
    if (performance.mark) performance.mark("assets-rendered");
    if (restTimer !== null) setTimeout(initRest, 0);  // the rest of the page once the first view's assets are drawn
  }
  window.__mapIdle = function () {
    return Object.keys(stats.loading).every(function (k) { return !busy(k) || !state.show[k.split(":")[0]]; });
  };

  // ---------- map ----------
  var map = null;
  var overlays = {};
  var bases = {};
  var layerControl = null;
  var highlight = null;
  var areaOutline = null;

  function buildOverlay(name) { return name === "assets" ? assetLayer() : areaLayer(name); }

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
      if (state.show[name]) layer.addTo(map);
    });
  }
  function applyShow() {
    Object.keys(overlays).forEach(function (name) {
      if (state.show[name] && !map.hasLayer(overlays[name])) overlays[name].addTo(map);
      if (!state.show[name] && map.hasLayer(overlays[name])) map.removeLayer(overlays[name]);
    });
  }
  function setBase(id) {
    Object.keys(bases).forEach(function (k) { if (k !== id && map.hasLayer(bases[k])) map.removeLayer(bases[k]); });
    if (bases[id] && !map.hasLayer(bases[id])) bases[id].addTo(map);
  }
  // Fit once a running zoom animation has ended (its end would otherwise move the map back where it was going).
  function fitWhenStill(bounds, options) {
    if (map._animatingZoom) map.once("zoomend", function () { map.fitBounds(bounds, options); });
    else map.fitBounds(bounds, options);
  }
  // Fit options that keep the phone's bottom sheet from covering what is fitted.
  function fitOptions(extra) { return Object.assign({paddingBottomRight: [0, sheetHeight()]}, extra || {}); }

  function init(leafletMap) {
    map = leafletMap;
    window.__map = map;
    readHash();
    ["villages", "townships", "clusters", "labels", "assets", "highlight"].forEach(function (pane, i) {
      map.createPane(pane);
      map.getPane(pane).style.zIndex = String(410 + i * 10);
    });
    L.control.scale({imperial: false, maxWidth: PHONE.matches ? 60 : 120}).addTo(map);
    var home = config.homeBbox || config.countyBbox;
    // Not animated: overlays added during a zoom animation would first load the tiles of the default view.
    if (state.z !== null) map.setView([state.lat, state.lng], state.z, {animate: false});
    else if (home) map.fitBounds(bboxBounds(home), {animate: false});
    var written = document.getElementById("first-clusters");
    if (state.z === null && written) firstClusters = JSON.parse(written.textContent);
    // The assets first: their clusters are drawn as soon as the view's document is in (the page's head asked for
    // it), before the rest of the page is built in the next task (basemap, boundaries, controls, filter panel).
    overlays.assets = buildOverlay("assets");
    if (state.show.assets) overlays.assets.addTo(map);
    restTimer = setTimeout(initRest, 300);  // at the latest; firstRender() calls it sooner
  }
  var restTimer = null;
  function initRest() {
    if (restTimer === null) return;  // done already
    clearTimeout(restTimer);
    restTimer = null;
    var baseByLabel = {};
    config.basemaps.forEach(function (b) {
      var group = L.layerGroup(b.layers.map(function (t) {
        var opts = {maxNativeZoom: t.maxNativeZoom || 18, maxZoom: 19, attribution: t.attribution || ""};
        if (t.subdomains) opts.subdomains = t.subdomains;
        return L.tileLayer(t.url, opts);
      }));
      group.basemapId = b.id;
      bases[b.id] = baseByLabel[b.label] = group;
    });
    setBase(state.base);
    ["villages", "townships"].forEach(function (name) { overlays[name] = buildOverlay(name); });
    var overlayByLabel = {};
    ["townships", "villages", "assets"].forEach(function (name) { overlayByLabel[layerDefs[name].label] = overlays[name]; });
    applyShow();
    layerControl = L.control.layers(baseByLabel, overlayByLabel, {collapsed: PHONE.matches, position: "topright"}).addTo(map);
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
    if (state.asset) openAsset(state.asset, {fit: !hadView});
    else if (!hadView && state.filters.village) openArea(state.filters.village, false);
    focusArea(!hadView && !state.asset);
    focusProject(!hadView && !state.asset && !state.filters.village && !state.filters.township);
    updateCount();
    writeHash();
    document.body.classList.add("map-ready");
  }
  window.geoAssetsMapInit = function (leafletMap) { init(leafletMap); };

  // ---------- legend: what is drawn ----------
  var SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }
  // A legend swatch drawn like the map draws it: a line (solid or dashed), a polygon or a point.
  function swatch(shape, colour, opts) {
    opts = opts || {};
    var box = svg("svg", {width: 22, height: 14, "class": "swatch", "aria-hidden": "true"});
    if (shape === "line") {
      box.appendChild(svg("line", {x1: 1, y1: 7, x2: 21, y2: 7, stroke: colour, "stroke-width": opts.width || 3.5,
                                   "stroke-dasharray": opts.dash && opts.dash.length ? opts.dash.join(" ") : "none"}));
    } else if (shape === "polygon") {
      box.appendChild(svg("rect", {x: 4, y: 1.5, width: 14, height: 11, fill: colour, "fill-opacity": 0.55, stroke: colour}));
    } else {
      box.appendChild(svg("circle", {cx: 11, cy: 7, r: opts.r || 5, fill: colour, stroke: "#fff", "stroke-width": 1.5}));
    }
    return box;
  }
  function drawnTypes() {
    var f = state.filters;
    return ALL_TYPES.filter(function (t) {
      return (!f.type || f.type.indexOf(t) >= 0) && (!f.category || f.category.indexOf(TYPES[t].category) >= 0);
    });
  }
  function legendRow(parent, sw, label, attrs) {
    var row = el("div", Object.assign({"class": "legend-row wide"}, attrs || {}));
    row.appendChild(sw); row.appendChild(el("span", null, label));
    parent.appendChild(row);
  }
  function addLegend() {
    var control = L.control({position: "bottomright"});
    control.onAdd = function () {
      var box = el("div", {"class": "map-legend", id: "legend"});
      var toggle = el("button", {type: "button", "class": "legend-toggle", "aria-controls": "legend-body"}, gettext("Legend"));
      toggle.addEventListener("click", function () { setLegendOpen(box.classList.contains("collapsed")); });
      box.appendChild(toggle);
      box.appendChild(el("div", {"class": "legend-body", id: "legend-body"}));
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    control.addTo(map);
    setLegendOpen(!PHONE.matches);
    renderLegend();
  }
  function setLegendOpen(open) {
    var box = document.getElementById("legend");
    box.classList.toggle("collapsed", !open);
    box.querySelector(".legend-toggle").setAttribute("aria-expanded", String(open));
  }
  function renderLegend() {
    var body = document.getElementById("legend-body");
    clear(body);
    var drawn = drawnTypes();
    registry.categories.forEach(function (c) {
      var types = c.types.filter(function (t) { return drawn.indexOf(t.type) >= 0; });
      if (!types.length) return;
      legendRow(body, swatch("point", c.colour, {r: 6}), c.label, {"class": "legend-row wide legend-category"});
      types.forEach(function (t) { legendRow(body, swatch(t.shape, t.colour, {dash: t.dash}), t.label, {"class": "legend-row legend-type", "data-type": t.type}); });
    });
    if (!drawn.length) body.appendChild(el("p", {"class": "legend-none wide"}, gettext("No asset type selected")));
    var cluster = el("span", {"class": "swatch cluster"}, "n");
    legendRow(body, cluster, gettext("Clusters (the number is how many assets)"));
    ["townships", "villages"].forEach(function (name) {
      var s = layerDefs[name].style;
      legendRow(body, swatch("line", s.stroke, {width: Math.max(1, s.width)}), layerDefs[name].legend[0].label);
    });
    // Compact by default (categories, clusters, boundaries: a small corner of the map); the types on request
    // (the filter panel lists them with the same swatches).
    body.classList.toggle("compact", !legendTypes);
    if (drawn.length) {
      var more = el("button", {type: "button", "class": "legend-more wide", id: "legend-more",
                               "aria-expanded": String(legendTypes)}, legendTypes ? gettext("Hide the types") : gettext("Show each type"));
      more.addEventListener("click", function () { legendTypes = !legendTypes; renderLegend(); });
      body.appendChild(more);
    }
  }
  var legendTypes = false;

  // ---------- filter panel ----------
  var syncForm = function () {};
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
        label.appendChild(input); label.appendChild(swatch(t.shape, t.colour, {dash: t.dash}));
        label.appendChild(el("span", null, t.label));
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

    var project = buildProjectFilter(form);
    syncForm = function () {
      var f = state.filters;
      if (project) project.input.value = f.project || "";
      township.value = f.township || "";
      fillVillages();
      village.value = f.village || "";
      var types = f.type && f.type.length ? f.type : null;
      var cats = f.category && f.category.length ? f.category : null;
      form.querySelectorAll("input[name=type]").forEach(function (i) {
        i.checked = types ? types.indexOf(i.value) >= 0 : (cats ? cats.indexOf(i.dataset.category) >= 0 : !f.type);
      });
      syncCategoryBoxes();
      form.querySelectorAll("input[name=status]").forEach(function (i) {
        i.checked = !!(f.status && f.status.indexOf(i.value) >= 0);
      });
      form.elements.year_min.value = f.year_min || "";
      form.elements.year_max.value = f.year_max || "";
      form.elements.verified.value = f.verified || "";
    };
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
      if (checked.length < ALL_TYPES.length) f.type = checked;
      var statuses = Array.prototype.filter.call(form.querySelectorAll("input[name=status]"), function (i) { return i.checked; })
        .map(function (i) { return i.value; });
      if (statuses.length) f.status = statuses;
      if (form.elements.year_min.value) f.year_min = form.elements.year_min.value;
      if (form.elements.year_max.value) f.year_max = form.elements.year_max.value;
      if (form.elements.verified.value) f.verified = form.elements.verified.value;
      var code = project ? project.resolve(project.input.value) : "";
      if (code) f.project = code;
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
      var prev = state.filters;
      state.filters = fromForm();
      if (JSON.stringify(state.filters) !== JSON.stringify(prev)) filtersChanged(prev, true);
    });
    form.addEventListener("reset", function () {
      setTimeout(function () {
        var prev = state.filters;
        state.filters = {};
        syncForm();
        filtersChanged(prev, false);
      }, 0);
    });
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    syncForm();
    var toggle = document.getElementById("toggle-filters");
    toggle.addEventListener("click", function () { setFiltersOpen(!document.body.classList.contains("filters-open")); });
    document.getElementById("filters-close").addEventListener("click", function () { setFiltersOpen(false); });
  }
  function setFiltersOpen(open) {
    document.body.classList.toggle("filters-open", open);
    document.getElementById("toggle-filters").setAttribute("aria-expanded", String(open));
  }

  // The project filter (staff): a searchable list of the projects the user may see, from /api/v1/map/projects/.
  // An option's value is the project's code; a typed name that one listed project has counts as its code.
  function buildProjectFilter(form) {
    var input = form.elements.project;
    if (!input || !config.projects) return null;
    var list = document.getElementById("project-options");
    var known = {};
    var timer = null, token = 0;
    function search(q) {
      var mine = ++token;
      fetchJson("/api/v1/map/projects/?q=" + encodeURIComponent(q)).then(function (data) {
        if (mine !== token) return;
        clear(list);
        data.results.forEach(function (p) {
          known[p.code] = p;
          list.appendChild(el("option", {value: p.code, label: p.name + " · " + p.year}));
        });
      }).catch(function () { /* the list stays as it was */ });
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { search(input.value.trim()); }, 200);
    });
    input.addEventListener("focus", function () { if (!list.options.length) search(""); });
    return {
      input: input,
      resolve: function (value) {
        value = value.trim();
        if (!value || known[value]) return value;
        var named = Object.keys(known).filter(function (c) { return known[c].name === value; });
        return named.length === 1 ? named[0] : value;
      },
    };
  }

  // The chosen project: its code, name and how many of its assets the user sees; the map moved onto them when fit.
  var projectToken = 0;
  function focusProject(fit) {
    var token = ++projectToken;
    var code = state.filters.project;
    var chosen = document.getElementById("project-chosen");
    stats.project = null;
    if (chosen) { chosen.hidden = true; clear(chosen); }
    if (!code || !chosen || code.indexOf(",") >= 0) return;
    var view = map.getCenter().toString() + map.getZoom();
    fetchJson("/api/v1/map/projects/" + encodeURIComponent(code) + "/").then(function (p) {
      if (token !== projectToken) return;
      chosen.appendChild(el("a", {href: p.url, "class": "project-link"}, p.code + " " + p.name));
      chosen.appendChild(el("span", null, " " + interpolate(ngettext("(%(year)s): %(count)s asset on the map", "(%(year)s): %(count)s assets on the map", p.asset_count),
                                                            {year: p.year, count: number(p.asset_count)}, true)));
      chosen.hidden = false;
      if (view !== map.getCenter().toString() + map.getZoom()) fit = false;  // moved meanwhile: leave the view alone
      if (!fit || !p.bbox) { stats.project = code; return; }
      map.once("moveend", function () { if (token === projectToken) stats.project = code; });
      fitWhenStill(bboxBounds(p.bbox), fitOptions({maxZoom: 16}));
    }).catch(function () {
      if (token !== projectToken) return;
      chosen.textContent = gettext("You have no project with this code.");
      chosen.hidden = false;
      stats.project = code;
    });
  }

  function filtersChanged(prev, fit) {
    var f = state.filters;
    refreshOverlays(prev.township !== f.township ? ["assets", "villages"] : ["assets"]);
    if (prev.township !== f.township || prev.village !== f.village) focusArea(fit);
    if (prev.project !== f.project) focusProject(fit && !f.village && !f.township);
    renderLegend();
    updateCount();
    writeHash();
  }

  // The chosen village (or township): outlined, and the map moved onto it when fit.
  var focusToken = 0;
  function focusArea(fit) {
    var token = ++focusToken;
    var code = state.filters.village || state.filters.township;
    if (areaOutline) { map.removeLayer(areaOutline); areaOutline = null; }
    stats.focus = null;
    if (!code || code.indexOf(",") >= 0) return;
    var view = map.getCenter().toString() + map.getZoom();
    fetchJson("/api/v1/areas/" + encodeURIComponent(code) + "/").then(function (f) {
      if (token !== focusToken) return;
      if (view !== map.getCenter().toString() + map.getZoom()) fit = false;  // moved meanwhile: leave the view alone
      areaOutline = L.geoJSON(f, {pane: "highlight", interactive: false,
                                  style: {color: "#ff6d00", weight: 4, opacity: 0.95, fill: false, className: "area-outline"}}).addTo(map);
      if (!fit) { stats.focus = code; return; }
      map.once("moveend", function () { if (token === focusToken) stats.focus = code; });
      map.fitBounds(areaOutline.getBounds(), fitOptions());
    }).catch(function () { /* an unknown code draws no outline */ });
  }

  // How many assets the filters leave; says so clearly when none.
  var countToken = 0;
  function updateCount() {
    var token = ++countToken;
    var query = filterQuery();
    var label = document.getElementById("filter-count");
    var notice = document.getElementById("map-notice");
    fetchJson("/api/v1/assets/?page_size=1" + (query ? "&" + query : "")).then(function (data) {
      if (token !== countToken) return;
      stats.count = data.count;
      updateExportLimit(data.count);
      var empty = hasFilters() ? gettext("No assets match the filters") : gettext("No assets to show yet");
      label.textContent = data.count ? interpolate(ngettext("%(count)s asset", "%(count)s assets", data.count), {count: number(data.count)}, true) : empty;
      label.classList.toggle("empty", !data.count);
      notice.textContent = empty;
      notice.hidden = data.count !== 0;
    }).catch(function () {
      if (token !== countToken) return;
      label.textContent = gettext("The filters are not valid");
      notice.hidden = true;
    });
  }

  // ---------- search ----------
  function buildSearch() {
    var input = document.getElementById("search-q");
    var list = document.getElementById("search-results");
    var timer = null;
    var shown = null;  // {q, results} currently listed
    function run(q) {
      return fetchJson("/api/v1/search/?q=" + encodeURIComponent(q)).then(function (data) {
        if (input.value.trim() !== q) return null;
        clear(list);
        shown = {q: q, results: data.results};
        if (!data.results.length && data.complete !== false) {
          list.appendChild(el("li", {"class": "empty"}, gettext("Nothing found")));
        }
        data.results.forEach(function (r) {
          var li = el("li", {"class": "result", "data-kind": r.kind, "data-code": r.code});
          var btn = el("button", {type: "button"}, r.label);
          btn.addEventListener("click", function () { pick(r); });
          li.appendChild(btn);
          list.appendChild(li);
        });
        if (data.note) list.appendChild(el("li", {"class": "empty search-note"}, data.note));
        return data.results;
      });
    }
    function failed() { clear(list); list.appendChild(el("li", {"class": "empty"}, gettext("The search failed"))); }
    function pick(r) {
      clear(list);
      shown = null;
      setFiltersOpen(false);
      if (r.kind === "asset") {
        openAsset(r.code, {fromClick: true, at: r.point && L.latLng(r.point[1], r.point[0]), zoom: 15});
      } else {
        openArea(r.code, true);
      }
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      shown = null;
      var q = input.value.trim();
      if (!q) { clear(list); return; }
      timer = setTimeout(function () { run(q).catch(failed); }, 250);
    });
    // Enter picks the first result (searching first if the list is not there yet).
    input.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { clear(list); return; }
      if (e.key !== "Enter" || e.isComposing || e.keyCode === 229) return;
      e.preventDefault();
      var q = input.value.trim();
      if (!q) return;
      clearTimeout(timer);
      (shown && shown.q === q ? Promise.resolve(shown.results) : run(q)).then(function (results) {
        if (results && results.length) pick(results[0]);
      }).catch(failed);
    });
  }

  // ---------- clicks ----------
  function onMapClick(e) {
    var tolerance = 8;
    var p = map.latLngToContainerPoint(e.latlng);
    var a = map.containerPointToLatLng([p.x - tolerance, p.y + tolerance]);
    var b = map.containerPointToLatLng([p.x + tolerance, p.y - tolerance]);
    var tryAssets = state.show.assets && map.getZoom() >= registry.detailMinZoom;
    var point = tryAssets ? pointUnderClick(e.latlng, tolerance) : null;
    if (point) { openAsset(point.code, {fromClick: true, at: e.latlng, first: point.props}); return; }
    var lookup = tryAssets
      ? fetchJson("/api/v1/assets/?page_size=20&bbox=" + [a.lng, a.lat, b.lng, b.lat].map(function (v) { return v.toFixed(6); }).join(",")
                  + (filterQuery() ? "&" + filterQuery() : ""))
      : Promise.resolve({features: []});
    lookup.then(function (data) {
      if (data.features.length) {
        var best = nearest(data.features, e.latlng);
        openAsset(best.id, {fromClick: true, at: e.latlng});
        return;
      }
      if (!state.show.villages && !state.show.townships) return;
      var level = state.show.villages ? "village" : "township";
      // only the area's code is read: its outline for zoom 11, not its whole boundary (a township's ~190 KB)
      fetchJson("/api/v1/areas/?level=" + level + "&zoom=11&point=" + e.latlng.lng.toFixed(6) + "," + e.latlng.lat.toFixed(6))
        .then(function (areas) {
          if (!areas.features.length) return;
          var code = areas.features[0].id;
          openArea(code, true);
        });
    }).catch(function (err) { showError(err); });
  }
  // The nearest point asset within the click's tolerance, from the detail tile already drawn: no request. Anything
  // else (lines, polygons, a click near a tile's edge, a tile of clusters) asks the API's box as before.
  function pointUnderClick(latlng, tolerance) {
    var detail = overlays.assets && overlays.assets.detail;
    if (!detail || !detail._map || typeof detail.queryTileFeaturesDebug !== "function") return null;
    var n = Math.min(Math.round(map.getZoom()), 16), scale = Math.pow(2, map.getZoom() - n);
    var px = map.project(latlng, n), mx = px.x - Math.floor(px.x / 256) * 256, my = px.y - Math.floor(px.y / 256) * 256;
    // how far the click is from its tile's nearest edge, in screen pixels: a point across it is at least that far
    var edge = Math.min(mx, my, 256 - mx, 256 - my) * scale;
    var best = null, bestD = tolerance;
    (detail.queryTileFeaturesDebug(latlng.lng, latlng.lat, tolerance).get("") || []).forEach(function (hit) {
      var f = hit.feature;
      if (hit.layerName !== "assets" || f.geomType !== 1 || !f.props.code) return;
      f.geom.forEach(function (part) {
        part.forEach(function (pt) {
          var d = Math.hypot(pt.x - mx, pt.y - my) * scale;
          if (d <= bestD) { bestD = d; best = {code: String(f.props.code), props: f.props}; }
        });
      });
    });
    // farther than the edge, a point of the next tile may be nearer: the API's box decides then
    return best && bestD <= edge ? best : null;
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
  document.getElementById("side-close").addEventListener("click", function () { closePanel(); writeHash(); });
  // Which answer may fill the side panel: each opening (and closing) takes a new number, so an asset's document that
  // arrives after another click, a village's panel or the panel's closing is dropped.
  var panelFor = 0;
  function closePanel() {
    panelFor += 1;
    document.body.classList.remove("panel-open");
    state.asset = null; stats.selected = null; stats.village = null;
    if (highlight) { map.removeLayer(highlight); highlight = null; }
    sameProjectClear();
    map.invalidateSize();
  }
  function showPanel(title) {
    clear(panelBody);
    document.getElementById("side-title").textContent = title;
    panel.scrollTop = 0;
    if (document.body.classList.contains("panel-open")) return;  // the map keeps its size: no layout forced
    document.body.classList.add("panel-open");
    map.invalidateSize();
  }
  // Height of the map covered by the side panel: the bottom sheet on a phone, nothing on a desk.
  function sheetHeight() {
    if (!PHONE.matches || !document.body.classList.contains("panel-open")) return 0;
    return Math.max(0, map.getContainer().getBoundingClientRect().bottom - panel.getBoundingClientRect().top);
  }
  // Bring latlng into sight (above the bottom sheet, inside the map narrowed by the side panel), at least at
  // minZoom; the map only moves when the point is hidden or the zoom must change.
  function reveal(latlng, minZoom) {
    var zoom = Math.max(map.getZoom(), minZoom || 0);
    var size = map.getSize(), sheet = sheetHeight(), margin = 24;
    var p = map.latLngToContainerPoint(latlng);
    if (zoom === map.getZoom() && p.x >= margin && p.x <= size.x - margin && p.y >= margin && p.y <= size.y - sheet - margin) return;
    map.setView(map.unproject(map.project(latlng, zoom).add([0, sheet / 2]), zoom), zoom);
  }
  function viewKey() {
    var c = map.getCenter();
    return map.getZoom() + "/" + c.lat.toFixed(7) + "/" + c.lng.toFixed(7);
  }
  function showError(err) {
    showPanel(gettext("Something went wrong"));
    panel.dataset.state = "error";
    panelBody.appendChild(el("p", {"class": "error"}, interpolate(gettext("Loading the data failed: %(error)s"), {error: err.message}, true)));
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

  // A point clicked in a drawn tile: its panel at once from what the tile holds (the same names the caller may
  // see), completed when the asset's document arrives.
  function assetFirst(code, p) {
    assetShown(code, p.name || code, "loading");
    var t = TYPES[p.type];
    dl(section(gettext("Basic information")), assetRows(code, CATEGORY_LABELS[p.category] || p.category,
                                                         t ? t.label : p.type, STATUS_LABELS[p.status] || p.status));
    panelBody.appendChild(el("p", {"class": "loading"}, gettext("Loading…")));
  }
  // What the loading panel and the complete one share: the selection, the title, and the first rows.
  function assetShown(code, title, phase) {
    state.asset = code; stats.selected = code; stats.village = null;
    writeHash();
    showPanel(title);
    panel.dataset.kind = "asset"; panel.dataset.code = code; panel.dataset.state = phase;
  }
  function assetRows(code, category, type, status) {
    return [[gettext("Asset code"), code], [gettext("Asset category"), category], [gettext("Asset type"), type],
            [gettext("Asset status"), status]];
  }

  // opts: fit (zoom onto the asset), at (a point of it to keep in sight) and zoom (at least this zoom), fromClick,
  // first (the clicked point's properties in its tile: the panel is shown from them while the document loads).
  function openAsset(code, opts) {
    var mine = panelFor += 1, opened = null;
    if (opts.first) {
      assetFirst(code, opts.first);
      if (opts.at) reveal(opts.at, opts.zoom);  // the phone's sheet is up now: keep the point above it
      opened = viewKey();
    }
    return fetchJson("/api/v1/assets/" + encodeURIComponent(code) + "/").then(function (f) {
      if (mine !== panelFor) return;  // another panel (or none) was asked for meanwhile
      var a = f.properties;
      a.code = a.code || f.id;  // the GeoJSON id is the asset code
      assetShown(a.code, a.name, "complete");
      dl(section(gettext("Basic information")), assetRows(a.code, a.category_label, a.type_label, a.status_label).concat([
                 [gettext("Township"), a.township_name], [gettext("Village"), a.village_name],
                 [gettext("Year built"), a.year_built], [gettext("Project name"), a.project_name],
                 [gettext("Responsible department"), a.department], [gettext("Investment"), money(a.total_investment)]]));
      if (a.projects) projectsSection(a.projects);  // staff only: the public gets no project data
      var own = section(gettext("Ownership"));
      dl(own, [[gettext("Owner kind"), a.ownership.owner_kind_label],
               [gettext("Registration status"), a.ownership.registration_status_label],
               [gettext("Registration date"), a.ownership.registration_date]]);
      if (a.owners.length) {
        var ul = el("ul");
        a.owners.forEach(function (o) { ul.appendChild(el("li", null, interpolate(gettext("%(name)s (%(kind)s) %(share)s%"), {name: o.owner_name, kind: o.owner_kind_label, share: Number(o.share).toLocaleString("zh-CN", {maximumFractionDigits: 3})}, true))); });
        own.appendChild(ul);
      }
      var cus = section(gettext("Custody"));
      dl(cus, [[gettext("Custodian unit"), a.custody.unit], [gettext("Responsible person"), a.custody.person],
               [gettext("Contact phone"), a.custody.phone], [gettext("Custody method"), a.custody.method_label],
               [gettext("Yearly custody funding"), a.custody.yearly_funding === null ? null : money(a.custody.yearly_funding)],
               [gettext("Operator"), a.operator]]);
      var fund = section(gettext("Funding sources"));
      if (a.funding.length) {
        var ful = el("ul");
        a.funding.forEach(function (l) { ful.appendChild(el("li", null, interpolate(gettext("%(source)s: %(amount)s"), {source: l.source_label, amount: money(l.amount)}, true))); });
        fund.appendChild(ful);
      } else fund.appendChild(el("p", null, "—"));
      var ver = section(gettext("Last verified"));
      ver.appendChild(el("p", {"class": "verified"}, a.last_verified_at ? fmtTime(a.last_verified_at) : gettext("Not verified yet")));
      var lv = a.latest_verification;
      if (lv) {
        ver.appendChild(el("p", {"class": "finding"}, fmtTime(lv.observed_at) + " " + lv.finding_label +
          (lv.review_label ? " · " + lv.review_label : "") + (lv.verifier ? " · " + lv.verifier : "") +
          (lv.flags && lv.flags.length ? " · " + interpolate(gettext("Doubts: %(flags)s"), {flags: lv.flags.join(pgettext("list separator", ", "))}, true) : "")));
        var ph = el("div", {"class": "verification-photos"});
        lv.photos.forEach(function (p) {
          var link = el("a", {href: p.url, target: "_blank", rel: "noopener"});
          link.appendChild(el("img", {src: p.thumbnail, alt: gettext("Verification photo"), loading: "lazy"}));
          ph.appendChild(link);
        });
        ver.appendChild(ph);
      }
      if (a.disposal) {
        var dis = section(gettext("Disposal"));
        dl(dis, [[gettext("Disposal method"), a.disposal.method], [gettext("Approval document"), a.disposal.approval_reference],
                 [gettext("Approved on"), a.disposal.approved_on]]);
      }
      var hist = section(interpolate(ngettext("Change history (%(count)s entry)", "Change history (%(count)s entries)", a.history.count),
                                     {count: a.history.count}, true));
      var hul = el("ul", {"class": "history"});
      a.history.recent.forEach(function (h) {
        hul.appendChild(el("li", null, fmtTime(h.date) + " " + h.type + (h.user ? " · " + h.user : "") + (h.reason ? " · " + h.reason : "")));
      });
      hist.appendChild(hul);
      var link = el("a", {href: a.page_url, "class": "full-page", id: "asset-page-link"}, gettext("The asset's full page →"));
      panelBody.appendChild(link);
      if (highlight) map.removeLayer(highlight);
      highlight = null;
      if (f.geometry) {
        highlight = L.geoJSON(f.geometry, {pane: "highlight", interactive: false,
          style: {color: "#ffd400", weight: 6, opacity: 0.9, fill: false},
          pointToLayer: function (feat, ll) { return L.circleMarker(ll, {pane: "highlight", radius: 10, color: "#ffd400", weight: 4, fill: false}); },
        }).addTo(map);
      }
      if (highlight && opts.fit) map.fitBounds(highlight.getBounds(), fitOptions({maxZoom: 16}));
      // again for the fuller sheet, unless the map was moved while the document loaded
      else if ((opts.at || highlight) && (opened === null || opened === viewKey())) {
        reveal(opts.at || highlight.getBounds().getCenter(), opts.zoom);
      }
    }).catch(function (err) {
      if (mine !== panelFor) return;
      if (!opts.fromClick || opts.first) { state.asset = null; stats.selected = null; writeHash(); }
      if (!opts.fromClick) return;
      showError(err);
    });
  }

  // ---------- the projects that formed an asset, and "formed by the same project" ----------
  var sameLayer = null, sameToken = 0;
  function projectsSection(projects) {
    var box = section(gettext("Formed by the projects"));
    box.id = "asset-projects";
    if (!projects.length) { box.appendChild(el("p", {"class": "no-project"}, gettext("Not linked to a project."))); return; }
    var list = el("ul", {"class": "projects"});
    projects.forEach(function (p) {
      var item = el("li", {"class": "project", "data-project": p.code});
      item.appendChild(el("a", {href: p.url, "class": "project-link"}, p.code + " " + p.name));
      item.appendChild(el("span", {"class": "project-meta"}, " " + interpolate(gettext("(%(year)s, %(kind)s)"), {year: p.year, kind: p.kind_label}, true)));
      var button = el("button", {type: "button", "class": "same-project", "data-project": p.code,
                                 "aria-pressed": String(!!(stats.sameProject && stats.sameProject.code === p.code))},
                      gettext("Formed by the same project"));
      button.addEventListener("click", function () {
        if (stats.sameProject && stats.sameProject.code === p.code) sameProjectClear();
        else sameProjectShow(p.code);
      });
      item.appendChild(button);
      list.appendChild(item);
    });
    box.appendChild(list);
    sameProjectButtons();
  }
  function sameProjectButtons() {
    document.querySelectorAll("#side-body button.same-project").forEach(function (b) {
      b.setAttribute("aria-pressed", String(!!(stats.sameProject && stats.sameProject.code === b.dataset.project)));
    });
    var old = document.getElementById("same-project-count");
    if (old) old.parentNode.removeChild(old);
    if (!stats.sameProject) return;
    var item = document.querySelector("#side-body li.project[data-project='" + CSS.escape(stats.sameProject.code) + "']");
    var n = stats.sameProject.assets.length;
    if (item) item.appendChild(el("p", {"class": "same-project-count", id: "same-project-count"},
                                   interpolate(ngettext("%(count)s asset of this project is outlined on the map.",
                                                        "%(count)s assets of this project are outlined on the map.", n), {count: n}, true)));
  }
  function sameProjectClear() {
    ++sameToken;
    if (sameLayer) { map.removeLayer(sameLayer); sameLayer = null; }
    stats.sameProject = null;
    sameProjectButtons();
  }
  // Outline every asset of the project the user sees (whatever the filters), and fit the map to them.
  function sameProjectShow(code) {
    var token = ++sameToken;
    return fetchJson("/api/v1/assets/?page_size=1000&project=" + encodeURIComponent(code)).then(function (data) {
      if (token !== sameToken) return;
      if (sameLayer) map.removeLayer(sameLayer);
      sameLayer = L.geoJSON(data, {pane: "highlight", interactive: false,
        style: {color: "#7b3fb0", weight: 5, opacity: 0.9, fillColor: "#b57edc", fillOpacity: 0.3, className: "same-project-shape"},
        pointToLayer: function (feat, ll) {
          return L.circleMarker(ll, {pane: "highlight", radius: 9, color: "#7b3fb0", weight: 3, fillColor: "#b57edc", fillOpacity: 0.45,
                                     className: "same-project-shape"});
        },
      }).addTo(map);
      stats.sameProject = {code: code, assets: data.features.map(function (f) { return f.id; })};
      sameProjectButtons();
      if (data.features.length) fitWhenStill(sameLayer.getBounds(), fitOptions({maxZoom: 16}));
    }).catch(showError);
  }

  function openArea(code, zoom) {
    var mine = panelFor += 1;
    return fetchJson("/api/v1/areas/" + encodeURIComponent(code) + "/summary/").then(function (s) {
      if (mine !== panelFor) return;
      state.asset = null; stats.selected = null; stats.village = s.code;
      if (highlight) { map.removeLayer(highlight); highlight = null; }
      writeHash();
      showPanel(interpolate(gettext("%(name)s (%(level)s)"), {name: s.name, level: s.level_label}, true));
      panel.dataset.kind = s.level; panel.dataset.code = s.code; panel.dataset.state = "complete";
      var tot = section(gettext("Overview"));
      dl(tot, [[gettext("Number of assets"), s.total.count], [gettext("Total investment"), money(s.total.investment)],
               [gettext("Verified"), s.total.verified], [gettext("Parent area"), s.parent_name]]);
      var cat = section(gettext("By category"));
      var table = el("table", {"class": "summary"});
      var head = el("tr"); [gettext("Category"), gettext("Number"), gettext("Investment")].forEach(function (h) { head.appendChild(el("th", null, h)); });
      table.appendChild(head);
      s.by_category.forEach(function (r) {
        var tr = el("tr");
        tr.appendChild(el("td", null, r.label)); tr.appendChild(el("td", null, r.count)); tr.appendChild(el("td", null, money(r.investment)));
        table.appendChild(tr);
      });
      cat.appendChild(table);
      var st = section(gettext("By status"));
      dl(st, s.by_status.filter(function (r) { return r.count; }).map(function (r) { return [r.label, r.count]; }));
      if (s.report_url) panelBody.appendChild(el("a", {href: s.report_url, "class": "full-page", id: "village-report-link"}, gettext("The village report →")));
      if (s.level === "village") fetchJson("/api/v1/todo/counts/?village=" + encodeURIComponent(s.code)).then(function (t) {
        if (!t.total || stats.village !== s.code) return;
        var box = section(interpolate(gettext("To do (%(total)s)"), {total: t.total}, true));
        dl(box, t.items.map(function (i) { return [i.label, i.count]; }));
        box.appendChild(el("a", {href: t.url, id: "village-todo-link"}, gettext("Deal with them →")));
      }).catch(function () {});
      if (zoom) map.fitBounds(bboxBounds(s.bbox), fitOptions());
    }).catch(function (err) { if (mine === panelFor) showError(err); });
  }
})();
