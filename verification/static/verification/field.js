/* The verifier's phone page: nearby assets, QR labels, the verification form, offline task packages and the
   upload queue. Every verification goes into the IndexedDB queue first and leaves it only when the server has
   answered (201, or 200 for a client_id it already has), so nothing is lost and nothing is recorded twice. */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("field-config").textContent);
  const embedded = document.getElementById("field-asset");
  const $ = (selector) => document.querySelector(selector);
  // Django's JavaScript catalogue (/jsi18n/, kept by the service worker for offline use); English without it.
  const gettext = window.gettext || ((text) => text);
  const ngettext = window.ngettext || ((singular, plural, n) => (n === 1 ? singular : plural));
  const pgettext = window.pgettext || ((_context, text) => text);
  const tr = (text, values) => text.replace(/%\((\w+)\)s/g, (_m, key) => String(values[key]));
  const DIRECTIONS = [gettext("north"), gettext("north-east"), gettext("east"), gettext("south-east"), gettext("south"),
    gettext("south-west"), gettext("west"), gettext("north-west")];
  const MAX_PHOTOS = 6;
  let fix = null;  // the latest GPS fix: {lon, lat, accuracy}

  // ---------------------------------------------------------------- storage: task packages and the queue
  let opened = null;
  function database() {
    opened = opened || new Promise((resolve, reject) => {
      const request = indexedDB.open("field-verification", 1);
      request.onupgradeneeded = () => {
        request.result.createObjectStore("packages", { keyPath: "village.code" });
        request.result.createObjectStore("queue", { keyPath: "client_id" });
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    return opened;
  }

  async function idb(storeName, mode, action) {
    const tx = (await database()).transaction(storeName, mode);
    const request = action(tx.objectStore(storeName));
    return new Promise((resolve, reject) => {
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = tx.onabort = () => reject(tx.error);
    });
  }
  const allOf = (storeName) => idb(storeName, "readonly", (s) => s.getAll());
  const put = (storeName, value) => idb(storeName, "readwrite", (s) => s.put(value));
  const remove = (storeName, key) => idb(storeName, "readwrite", (s) => s.delete(key));

  async function packagedAssets() {
    return (await allOf("packages")).flatMap((p) => p.assets);
  }

  // ---------------------------------------------------------------- small helpers
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([k, v]) => (k === "class" ? (node.className = v) : node.setAttribute(k, v)));
    children.flat().forEach((c) => c != null && node.append(c));
    return node;
  }
  const metres = (m) => (m < 1000 ? tr(gettext("%(m)s m"), { m: Math.round(m) })
    : tr(gettext("%(km)s km"), { km: (m / 1000).toFixed(1) }));
  const direction = (deg) => DIRECTIONS[Math.round((((deg % 360) + 360) % 360) / 45) % 8];
  // the county's calendar day of an ISO time (a UTC "…Z" from the phone's clock included); a bare date as it is
  const dayFormat = new Intl.DateTimeFormat("en-CA", { timeZone: config.time_zone || undefined,
    year: "numeric", month: "2-digit", day: "2-digit" });
  const day = (iso) => (!iso ? "" : iso.length <= 10 ? iso : dayFormat.format(new Date(iso)));
  function notice(text, kind) {
    const box = $("#notice");
    box.textContent = text;
    box.className = "notice " + (kind || "");
    box.hidden = !text;
  }
  function csrfToken() {
    const cookie = document.cookie.split("; ").find((c) => c.startsWith(config.csrf_cookie + "="));
    return cookie ? decodeURIComponent(cookie.split("=")[1]) : config.csrf;
  }
  function messageOf(body) {
    if (!body || typeof body !== "object") return "";
    return Object.values(body).flat().map(String).join(" ");
  }

  /* Distance (m) and bearing (° from north) from a position to a GeoJSON geometry: its nearest point, 0 inside a
     polygon. Local flat approximation, good to a few metres at village scale; the server measures exactly. */
  function measure(geometry, lon, lat) {
    const kx = 111320 * Math.cos((lat * Math.PI) / 180), ky = 110540;
    const xy = ([x, y]) => [(x - lon) * kx, (y - lat) * ky];
    const lines = [], rings = [];
    const walk = (g) => {
      if (g.type === "Point") lines.push([g.coordinates]);
      else if (g.type === "MultiPoint" || g.type === "LineString") lines.push(g.coordinates);
      else if (g.type === "MultiLineString") lines.push(...g.coordinates);
      else if (g.type === "Polygon") { lines.push(...g.coordinates); rings.push(g.coordinates); }
      else if (g.type === "MultiPolygon") g.coordinates.forEach((p) => { lines.push(...p); rings.push(p); });
      else if (g.type === "GeometryCollection") g.geometries.forEach(walk);
    };
    walk(geometry);
    const inRing = (ring) => {
      let odd = false;
      for (let a = 0, b = ring.length - 1; a < ring.length; b = a++) {
        const [xa, ya] = xy(ring[a]), [xb, yb] = xy(ring[b]);
        if ((ya > 0) !== (yb > 0) && xa - (ya * (xb - xa)) / (yb - ya) > 0) odd = !odd;
      }
      return odd;
    };
    const inside = rings.some((polygon) => inRing(polygon[0]) && !polygon.slice(1).some(inRing));
    if (inside) return { m: 0, bearing: 0 };
    let best = { m: Infinity, bearing: 0 };
    lines.forEach((line) => line.forEach((p, i) => {
      const [xb, yb] = xy(p), [xa, ya] = i ? xy(line[i - 1]) : [xb, yb];
      const dx = xb - xa, dy = yb - ya, len = dx * dx + dy * dy;
      const t = len ? Math.max(0, Math.min(1, -(xa * dx + ya * dy) / len)) : 0;
      const x = xa + t * dx, y = ya + t * dy, m = Math.hypot(x, y);
      if (m < best.m) best = { m, bearing: (Math.atan2(x, y) * 180) / Math.PI };
    }));
    return best;
  }

  // ---------------------------------------------------------------- online state, GPS
  function showNet() {
    $("#net").textContent = navigator.onLine ? gettext("Online") : gettext("Offline");
    $("#net").classList.toggle("off", !navigator.onLine);
  }

  const fixListeners = [];
  function onFix(listener) {
    fixListeners.push(listener);
    if (fix) listener(fix);
  }
  function watchGps() {
    if (!navigator.geolocation) {
      $("#gps").textContent = gettext("This device cannot tell its position");
      return;
    }
    navigator.geolocation.watchPosition((position) => {
      const c = position.coords;
      fix = { lon: c.longitude, lat: c.latitude, accuracy: c.accuracy };
      const poor = c.accuracy > config.accuracy_limit_m;
      $("#gps").textContent = tr(gettext("GPS accuracy ±%(m)s m"), { m: Math.round(c.accuracy) }) +
        (poor ? tr(gettext(": poor accuracy (over %(limit)s m), wait a moment in the open"), { limit: config.accuracy_limit_m }) : "");
      $("#gps").classList.toggle("warn", poor);
      fixListeners.forEach((listener) => listener(fix));
    }, (error) => {
      $("#gps").textContent = error.code === 1
        ? gettext("Location not allowed: allow this page to use your position in the browser's settings") : gettext("Locating…");
      $("#gps").classList.toggle("warn", error.code === 1);
    }, { enableHighAccuracy: true, maximumAge: 5000, timeout: 30000 });
  }

  // ---------------------------------------------------------------- map
  function makeMap(id) {
    const map = L.map(id, { zoomControl: false, attributionControl: false, center: [fix ? fix.lat : 33.9, fix ? fix.lon : 111.6], zoom: 16 });
    const layers = { areas: L.layerGroup().addTo(map), assets: L.featureGroup().addTo(map), me: L.featureGroup().addTo(map) };
    L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
    return {
      map, layers,
      me(here) {
        layers.me.clearLayers();
        L.circle([here.lat, here.lon], { radius: here.accuracy, weight: 1, color: "#1565c0", fillOpacity: 0.1 }).addTo(layers.me);
        L.circleMarker([here.lat, here.lon], { radius: 7, color: "#fff", weight: 2, fillColor: "#1565c0", fillOpacity: 1 }).addTo(layers.me);
      },
      area(geometry) {
        L.geoJSON(geometry, { style: { color: "#555", weight: 2, dashArray: "6 4", fill: false }, interactive: false }).addTo(layers.areas);
      },
      asset(card, label) {
        const layer = L.geoJSON(card.geometry || { type: "Point", coordinates: [card.lon, card.lat] }, {
          style: (f) => (f.geometry.type.endsWith("Point") ? {} : { color: "#9b1c1c", weight: 4, fillOpacity: 0.2 }),
          pointToLayer: (_f, latlng) => L.circleMarker(latlng, { radius: 8, color: "#fff", weight: 2, fillColor: "#9b1c1c", fillOpacity: 1 }),
        }).addTo(layers.assets);
        if (label) layer.bindTooltip(label, { permanent: true, direction: "right", className: "map-label" });
        return layer;
      },
    };
  }

  async function drawVillages(view, here) {
    if (view.areasDrawn) return;
    const packages = await allOf("packages");
    const inPackage = packages.find((p) => measure(p.village.geometry, here.lon, here.lat).m === 0);
    if (inPackage) {
      view.area(inPackage.village.geometry);
      view.areasDrawn = true;
    } else if (navigator.onLine) {
      try {
        const response = await fetch(`${config.areas}?level=village&point=${here.lon},${here.lat}`, { signal: AbortSignal.timeout(15000) });
        (await response.json()).features.forEach((f) => view.area(f.geometry));
        view.areasDrawn = true;
      } catch (e) { /* the map works without boundaries */ }
    }
  }

  // ---------------------------------------------------------------- home: nearby assets
  let homeView = null, nearbyFrom = null;

  async function loadNearby(here, force) {
    if (!force && nearbyFrom && measure({ type: "Point", coordinates: [nearbyFrom.lon, nearbyFrom.lat] }, here.lon, here.lat).m < 25) return;
    nearbyFrom = here;
    let rows = null, note = "";
    if (navigator.onLine) {
      try {
        const response = await fetch(`${config.nearby}?lon=${here.lon}&lat=${here.lat}&limit=30`,
          { headers: { Accept: "application/json" }, signal: AbortSignal.timeout(15000) });
        if (response.ok) rows = (await response.json()).results.map((r) => ({ ...r, bearing: r.bearing_deg }));
      } catch (e) { /* offline after all: the task packages answer */ }
    }
    if (rows === null) {
      rows = (await packagedAssets()).map((a) => {
        const d = measure(a.geometry, here.lon, here.lat);
        return { ...a, distance_m: d.m, bearing: d.bearing, may_verify: true };
      }).sort((a, b) => a.distance_m - b.distance_m).slice(0, 30);
      note = rows.length ? gettext("Offline: distances estimated from the downloaded task packages")
        : gettext("Offline and no task package downloaded: download your village's task package when online");
    }
    renderNearby(rows, note);
    homeView.me(here);
    homeView.layers.assets.clearLayers();
    rows.slice(0, 15).forEach((r) => homeView.asset(r, null));
    homeView.layers.me.bringToFront();
    if (force || !homeView.fitted) {
      const near = L.featureGroup(homeView.layers.assets.getLayers().slice(0, 5)).getBounds().extend(homeView.layers.me.getBounds());
      homeView.map.fitBounds(near, { maxZoom: 17, padding: [24, 24] });
      homeView.fitted = true;
    }
    drawVillages(homeView, here);
  }

  function renderNearby(rows, note) {
    const village = rows[0] && config.villages.filter((v) => v.name === rows[0].village);
    if (village && village.length === 1 && !$("#packages").open) $("#package-village").value = village[0].code;
    /* The list shows the nearby assets the user may see (not only the campaign's): those assigned to the user are
       marked 任务, those the user may not verify are greyed and open the asset's page instead of the form. */
    const assignedCount = rows.filter((r) => r.assigned).length, readonly = rows.some((r) => r.may_verify === false);
    $("#nearby-note").textContent = note || (rows.length
      ? gettext("Nearby assets you may see; ") + (assignedCount
        ? tr(ngettext("the %(n)s marked “Task” is assigned to you for verification",
          "the %(n)s marked “Task” are assigned to you for verification", assignedCount), { n: assignedCount })
        : gettext("none of them is assigned to you for verification")) +
        (readonly ? gettext(", the grey ones you may not verify.") : pgettext("end of a sentence", "."))
      : gettext("No assets you may see nearby"));
    $("#nearby").replaceChildren(...rows.map((r) => {
      const last = r.last_verified_at ? tr(gettext("Last verified %(day)s"), { day: day(r.last_verified_at) }) : gettext("Not verified");
      const here = r.distance_m < 5;
      const arrow = el("span", { class: "arrow", "aria-hidden": "true", style: here ? "" : `transform: rotate(${r.bearing}deg)` }, here ? "◎" : "↑");
      const marks = [r.assigned ? el("span", { class: "badge task" }, gettext("Task")) : null,
        r.may_verify === false ? el("span", { class: "badge readonly" }, gettext("May not verify")) : null].filter(Boolean);
      return el("li", { "data-code": r.code, class: [r.assigned ? "assigned" : "", r.may_verify === false ? "readonly" : ""].join(" ").trim() },
        el("a", { href: r.may_verify === false ? `/assets/${encodeURIComponent(r.code)}/` : assetUrl(r.code) },
          el("span", { class: "where" }, arrow, el("b", { class: "distance" }, metres(r.distance_m)),
            el("small", { class: "direction" }, here ? gettext("here") : direction(r.bearing))),
          el("span", { class: "what" }, el("b", {}, ...marks, r.name), el("small", {}, `${r.type_label} · ${r.village || ""}`),
            el("small", {}, el("span", { class: "code" }, r.code), ` · ${last}`))));
    }));
  }

  const assetUrl = (code) => `${config.home}assets/${encodeURIComponent(code)}/`;

  // ---------------------------------------------------------------- QR labels and codes
  /* The code in a scanned label: the QR holds the absolute URL …/v/<code>/; a bare code is accepted too. */
  function codeFromText(text) {
    const value = (text || "").trim();
    const match = value.match(/\/v\/([^/?#]+)\/?(?:[?#].*)?$/);
    if (match) return decodeURIComponent(match[1]);
    return /^[0-9A-Za-z-]{4,40}$/.test(value) ? value : null;
  }

  const canvas = document.createElement("canvas");
  function decodeImage(source, width, height, thorough) {
    const scale = Math.min(1, (thorough ? 1600 : 800) / Math.max(width, height));
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(source, 0, 0, canvas.width, canvas.height);
    const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
    const found = window.jsQR(pixels.data, pixels.width, pixels.height, { inversionAttempts: thorough ? "attemptBoth" : "dontInvert" });
    return found ? found.data : null;
  }

  function goToCode(text) {
    const code = codeFromText(text);
    if (!code) {
      $("#scan-status").textContent = tr(gettext("Not the QR code of an asset label: %(text)s"), { text });
      return false;
    }
    stopCamera();
    location.href = assetUrl(code);
    return true;
  }

  let stream = null;
  async function startCamera() {
    const status = $("#scan-status"), video = $("#scan-video");
    status.textContent = gettext("Opening the camera…");
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch (e) {
      status.textContent = gettext("Cannot open the camera: use “Read the QR code from a photo”, or enter the asset code");
      return;
    }
    video.srcObject = stream;
    await video.play();
    status.textContent = gettext("Point the camera at the QR code");
    const tick = () => {
      if (!stream) return;
      const text = video.readyState >= 2 ? decodeImage(video, video.videoWidth, video.videoHeight, false) : null;
      if (!(text && goToCode(text))) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }
  function stopCamera() {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
  }

  async function decodeFile(file) {
    const bitmap = await createImageBitmap(file);
    return decodeImage(bitmap, bitmap.width, bitmap.height, true);
  }

  // ---------------------------------------------------------------- task packages
  function fillVillages() {
    const select = $("#package-village");
    select.replaceChildren(...config.villages.map((v) =>
      el("option", { value: v.code }, tr(ngettext("%(township)s %(village)s (%(n)s asset)", "%(township)s %(village)s (%(n)s assets)", v.assets),
        { township: v.township || "", village: v.name, n: v.assets }))));
  }

  async function showPackages() {
    const packages = await allOf("packages");
    $("#package-list").replaceChildren(...packages.map((p) =>
      el("li", {}, tr(ngettext("%(village)s: %(n)s asset, downloaded on %(day)s", "%(village)s: %(n)s assets, downloaded on %(day)s",
        p.assets.length), { village: p.village.name, n: p.assets.length, day: day(p.downloaded_at) }))));
  }

  async function downloadPackage() {
    const code = $("#package-village").value;
    if (!code) return;
    const button = $("#package-download");
    button.disabled = true;
    button.textContent = gettext("Downloading…");
    try {
      const response = await fetch(config.package.replace("CODE", encodeURIComponent(code)), { headers: { Accept: "application/json" } });
      const body = await response.json();
      if (!response.ok) throw new Error(body.detail || tr(gettext("Server error (%(status)s)"), { status: response.status }));
      body.downloaded_at = new Date().toISOString();
      await put("packages", body);
      const cache = await caches.open("field-photos");
      await Promise.all(body.assets.filter((a) => a.thumbnail).map((a) => cache.add(a.thumbnail).catch(() => null)));
      notice(tr(ngettext("Downloaded the task package of %(village)s: %(n)s asset", "Downloaded the task package of %(village)s: %(n)s assets",
        body.assets.length), { village: body.village.name, n: body.assets.length }), "ok");
    } catch (e) {
      notice(navigator.onLine ? tr(gettext("Download failed: %(error)s"), { error: e.message })
        : gettext("Offline: download the task package when online"), "error");
    } finally {
      button.disabled = false;
      button.textContent = gettext("Download the task package");
      showPackages();
    }
  }

  // ---------------------------------------------------------------- the upload queue
  async function queued() {
    return (await allOf("queue")).filter((item) => item.user === config.user);
  }

  async function showQueue() {
    const items = await queued();
    const chip = $("#queue-chip");
    chip.hidden = items.length === 0;
    chip.textContent = tr(gettext("To upload: %(n)s"), { n: items.length });
    if (!items.length) $("#queue-list").replaceChildren(el("li", {}, gettext("No records waiting to be uploaded")));
    else $("#queue-list").replaceChildren(...items.map((item) =>
      el("li", { class: item.rejected ? "rejected" : "" }, el("b", {}, item.asset_name || item.asset_code),
        el("small", {}, " " + tr(ngettext("%(time)s · %(n)s photo", "%(time)s · %(n)s photos", item.photos.length),
          { time: item.observed_at.slice(0, 16).replace("T", " "), n: item.photos.length })),
        item.error ? el("small", { class: "error" }, item.error) : null)));
    return items.length;
  }

  /* One send: {done: record} when the server has it, {retry} to try again later, {rejected} when it refuses. */
  async function send(item) {
    const form = new FormData();
    ["asset_code", "finding", "lon", "lat", "accuracy_m", "observed_at", "client_id", "note"].forEach((k) => form.append(k, item[k]));
    item.photos.forEach((p) => form.append("photos", p.blob, p.name));
    let response, body = null;
    try {
      response = await fetch(config.api, {
        method: "POST", body: form, credentials: "same-origin", signal: AbortSignal.timeout(180000),
        headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
      });
      body = await response.json().catch(() => null);
    } catch (e) {
      item.error = gettext("No connection: retrying automatically later");
      await put("queue", item);
      return { retry: true, offline: true };
    }
    if (response.ok) {
      await remove("queue", item.client_id);
      /* A refused record of the same asset is superseded by this one: it leaves the queue (no "待上传 1" after a
         successful resubmission). */
      for (const other of await queued()) {
        if (other.rejected && other.asset_code === item.asset_code) await remove("queue", other.client_id);
      }
      document.dispatchEvent(new CustomEvent("field:sent", { detail: { client_id: item.client_id, record: body } }));
      return { done: body };
    }
    const permanent = response.status >= 400 && response.status < 500 && ![401, 403, 408, 429].includes(response.status);
    item.error = response.status === 403
      ? tr(gettext("Not uploaded (%(reason)s): log in again, then retry"), { reason: messageOf(body) || gettext("the login has expired") })
      : tr(permanent ? gettext("Refused by the server (%(status)s): %(message)s")
        : gettext("The server cannot take it for now (%(status)s): %(message)s"), { status: response.status, message: messageOf(body) });
    item.rejected = permanent;
    await put("queue", item);
    if (permanent) document.dispatchEvent(new CustomEvent("field:rejected", { detail: { client_id: item.client_id, error: item.error } }));
    return permanent ? { rejected: item.error, body } : { retry: true, message: item.error };
  }

  let flushing = null;
  /* Send every queued verification of this user; rejected ones only when asked (the button). */
  function flush(includeRejected) {
    flushing = flushing || (async () => {
      let sent = 0;
      if (navigator.onLine) {
        for (const item of await queued()) {
          if (item.rejected && !includeRejected) continue;
          const outcome = await send(item);
          if (outcome.done) sent += 1;
          if (outcome.offline) break;  // no connection: the rest waits too
        }
      }
      const left = await showQueue();
      if (sent) {
        notice(tr(ngettext("Uploaded %(n)s verification", "Uploaded %(n)s verifications", sent), { n: sent }) +
          (left ? tr(ngettext(", %(n)s more waiting to be uploaded", ", %(n)s more waiting to be uploaded", left), { n: left }) : ""), "ok");
      }
      return sent;
    })().finally(() => { flushing = null; });
    return flushing;
  }

  // ---------------------------------------------------------------- the verification form
  let chosen = [];
  function showChosen() {
    $("#chosen").replaceChildren(...chosen.map((file, index) => {
      const image = el("img", { alt: file.name });
      const url = URL.createObjectURL(file);
      image.src = url;
      image.onerror = () => image.replaceWith(el("span", { class: "no-preview" }, file.name));
      const drop = el("button", { type: "button", class: "drop", "aria-label": gettext("Remove the photo") }, "×");
      drop.onclick = () => { URL.revokeObjectURL(url); chosen.splice(index, 1); showChosen(); };
      return el("li", {}, image, drop);
    }));
  }

  function showAsset(card) {
    document.title = `${card.name} · ${gettext("Field verification")}`;
    $("#asset-name").textContent = card.name;
    $("#asset-meta").textContent = `${card.code} · ${card.type_label} · ${card.village}`;
    const last = card.last_verification;
    $("#asset-last").textContent = last
      ? tr(gettext("Last verified: %(day)s %(finding)s"), { day: day(last.observed_at), finding: last.finding_label }) : gettext("Never verified");
    if (card.thumbnail) {
      const figure = $("#earlier");
      figure.querySelector("img").src = card.thumbnail;
      figure.querySelector("figcaption").textContent = tr(gettext("Last photo %(day)s: take it from the same place and angle"),
        { day: day(last && last.observed_at) });
      figure.hidden = false;
    }
    const view = makeMap("asset-map");
    const shape = view.asset(card, null);
    view.map.fitBounds(shape.getBounds(), { maxZoom: 17, padding: [30, 30] });
    onFix((here) => {
      view.me(here);
      const d = measure(card.geometry, here.lon, here.lat);
      $("#asset-distance").textContent = d.m < 5 ? gettext("You are at the asset")
        : tr(gettext("You are about %(distance)s from the asset (it lies to your %(direction)s)"), { distance: metres(d.m), direction: direction(d.bearing) });
      drawVillages(view, here);
    });

    $("#photo-input").addEventListener("change", (event) => {
      chosen = chosen.concat([...event.target.files]).slice(0, MAX_PHOTOS);
      event.target.value = "";
      showChosen();
    });
    /* The record the result box says is queued: when a later flush (reconnecting, the timer, the button) sends or
       refuses it, the box says so instead of "已排队". */
    let waitingFor = null;
    document.addEventListener("field:sent", (event) => {
      if (event.detail.client_id !== waitingFor) return;
      waitingFor = null;
      showAnswer(event.detail.record);
    });
    document.addEventListener("field:rejected", (event) => {
      if (event.detail.client_id !== waitingFor) return;
      waitingFor = null;
      showResult(event.detail.error, "error", [el("p", {}, gettext("Fill in the form and submit again; the refused record is in “To upload”."))]);
    });
    const clearForm = (form) => {
      form.reset();
      chosen = [];
      showChosen();
      photoError("");
    };
    $("#record").addEventListener("change", (event) => {  // a finding chosen: the "choose a finding" error goes
      if (event.target.name === "finding" && $("#result").classList.contains("error")) $("#result").hidden = true;
    });
    $("#record").addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = event.target, finding = form.elements.finding.value;
      $("#result").hidden = true;
      photoError("");
      if (!finding) return showResult(gettext("Choose a finding"), "error");
      if (!fix) return showResult(gettext("No GPS position yet: wait a moment, or allow location in the browser's settings"), "error");
      $("#submit").disabled = true;
      try {
        const item = {
          client_id: crypto.randomUUID(), user: config.user, asset_code: card.code, asset_name: card.name, finding,
          lon: fix.lon, lat: fix.lat, accuracy_m: fix.accuracy, observed_at: new Date().toISOString(),
          note: form.elements.note.value.trim(), created_at: new Date().toISOString(),
          photos: await Promise.all(chosen.map(async (f) => ({ name: f.name, blob: new Blob([await f.arrayBuffer()], { type: f.type }) }))),
        };
        await put("queue", item);  // safe on the phone before anything is sent
        const outcome = navigator.onLine ? await send(item) : { retry: true };
        if (outcome.rejected) {
          /* Refused by the server (a photo it cannot read, a value it does not accept): nothing was recorded. The
             form keeps what was entered, the refusal stands next to what it is about, and the record leaves the
             queue (the form holds it): correct it and submit again. */
          await remove("queue", item.client_id);
          await showQueue();
          const errors = (outcome.body && typeof outcome.body === "object") ? outcome.body : {};
          if (errors.photos) photoError(tr(gettext("Photo refused: %(error)s Delete the photo or take it again."), { error: [errors.photos].flat().join(" ") }));
          const others = Object.entries(errors).filter(([k]) => k !== "photos").map(([, v]) => [v].flat().join(" ")).join(" ");
          showResult(errors.photos && !others ? gettext("Not submitted: photo refused")
            : tr(gettext("Not submitted: %(error)s"), { error: others || outcome.rejected }), "error",
            [el("p", {}, gettext("What you filled in is kept: correct it and submit again."))]);
          return;
        }
        clearForm(form);
        await showQueue();
        if (outcome.done) {
          showAnswer(outcome.done);
          // the line under the name said "never verified" beside "uploaded": it says what was just recorded
          $("#asset-last").textContent = tr(gettext("Just uploaded: %(finding)s (%(review)s)"),
            { finding: outcome.done.finding_label, review: outcome.done.review_label });
        }
        else if (outcome.message && !outcome.offline) {
          waitingFor = item.client_id;
          showResult(outcome.message, "error", [el("p", {}, gettext("The record is kept on the phone: retrying automatically later."))]);
        } else {
          waitingFor = item.client_id;
          showResult(gettext("Queued: uploaded automatically when online"), "queued");
        }
      } finally {
        $("#submit").disabled = false;
      }
    });
  }

  function photoError(text) {
    const box = $("#photo-error");
    box.textContent = text;
    box.hidden = !text;
  }

  function showResult(text, kind, details) {
    const box = $("#result");
    box.className = "result " + kind;
    box.replaceChildren(el("b", {}, text), ...(details || []).filter(Boolean));
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
  }

  function showAnswer(record) {
    const flags = record.flags.map((f) => el("li", {}, config.flags[f] || f));
    const distance = record.distance_m == null ? "" : tr(gettext("%(distance)s from the asset"), { distance: metres(record.distance_m) });
    showResult(tr(gettext("Uploaded: %(distance)s"), { distance }), flags.length ? "flagged" : "ok", [
      el("p", {}, flags.length ? gettext("To be reviewed, because:") : gettext("No flags: the verification counts")),
      flags.length ? el("ul", { class: "flags" }, flags) : null,
    ]);
  }

  // ---------------------------------------------------------------- start
  async function findAsset(code) {
    if (embedded) return JSON.parse(embedded.textContent);
    return (await packagedAssets()).find((a) => a.code === code) || null;
  }

  async function start() {
    showNet();
    addEventListener("online", () => {
      showNet();
      flush();
      if (homeView && fix) loadNearby(fix, true);
    });
    addEventListener("offline", showNet);
    setInterval(() => flush(), 30000);
    if ("serviceWorker" in navigator) navigator.serviceWorker.register(config.sw, { scope: config.home }).catch(() => null);
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => null);
    watchGps();

    const route = location.pathname.slice(config.home.length).match(/^assets\/([^/]+)\/$/);
    if (route) {
      $("#back").hidden = false;
      $("#title").textContent = gettext("Verify an asset");
      const code = decodeURIComponent(route[1]);
      const card = config.missing ? null : await findAsset(code);
      if (card) {
        $("#asset").hidden = false;
        showAsset(card);
      } else {
        $("#missing-text").textContent = navigator.onLine || config.missing
          ? tr(gettext("There is no asset numbered %(code)s that you may verify."), { code })
          : tr(gettext("Offline: the downloaded task packages have no asset %(code)s. Try again when online, or first download the village's task package."), { code });
        $("#missing").hidden = false;
      }
    } else {
      $("#home").hidden = false;
      homeView = makeMap("home-map");
      onFix((here) => {
        homeView.me(here);
        loadNearby(here, false);
      });
      $("#nearby-refresh").onclick = () => fix && loadNearby(fix, true);
      fillVillages();
      $("#open-scan").onclick = () => { $("#scan").showModal(); startCamera(); };
      $("#scan").addEventListener("close", stopCamera);
      $("#open-code").onclick = () => { $("#code-dialog").showModal(); $("#code-input").focus(); };
      $("#code-form").onsubmit = (event) => {
        event.preventDefault();
        const code = $("#code-input").value.trim();
        if (code) location.href = assetUrl(code);
      };
      $("#open-packages").onclick = () => { showPackages(); $("#packages").showModal(); };
      $("#package-download").onclick = downloadPackage;
    }
    $("#qr-file").addEventListener("change", async (event) => {
      const file = event.target.files[0];
      event.target.value = "";
      if (!file) return;
      if (!$("#scan").open) $("#scan").showModal();
      const text = await decodeFile(file).catch(() => null);
      if (text) goToCode(text);
      else $("#scan-status").textContent = gettext("No QR code found in the photo: come closer, take a sharp photo and try again");
    });
    $("#queue-chip").onclick = () => { showQueue(); $("#queue").showModal(); };
    $("#queue-flush").onclick = () => flush(true);
    await flush();
  }

  window.fieldApp = { flush, queued, codeFromText, decodeFile, measure };
  start();
})();
