/* Service worker of the phone page (scope {{ home }}): keeps the page, its scripts and the task packages'
   thumbnails so the page opens without a connection. Verifications are queued and sent by the page itself. */
const VERSION = "{{ version }}";
const SHELL_CACHE = "field-shell-" + VERSION;
const PHOTO_CACHE = "field-photos";
const HOME = "{{ home }}";
/* The manifest and the scripts' translations (the JavaScript catalogue) follow the language the user chose (a
   cookie): taken from the network when there is one, from the cache without. */
const FRESH = ["{{ manifest }}", "{{ catalogue }}"];
const SHELL = {{ shell|safe }}.concat(FRESH);

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    await cache.addAll(SHELL);
    const page = await fetch(HOME, { credentials: "same-origin" }).catch(() => null);
    if (page && page.ok && !page.redirected) await cache.put(HOME, page);
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names.filter((n) => n.startsWith("field-shell-") && n !== SHELL_CACHE).map((n) => caches.delete(n)));
    await self.clients.claim();
  })());
});

async function fromCacheFirst(request, cacheName) {
  const cached = await caches.match(request, { ignoreVary: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) (await caches.open(cacheName)).put(request, response.clone());
  return response;
}

async function fromNetworkFirst(request) {
  try {
    const response = await fetch(request);
    if (response.ok) (await caches.open(SHELL_CACHE)).put(request, response.clone());
    return response;
  } catch (error) {
    return (await caches.match(request, { cacheName: SHELL_CACHE, ignoreVary: true })) || Response.error();
  }
}

/* Pages: the network when there is one (and the home page kept fresh); without, the kept home page, which
   shows any /field/ path from the task packages. */
async function page(request) {
  try {
    const response = await fetch(request);
    if (response.ok && !response.redirected && new URL(request.url).pathname === HOME) {
      (await caches.open(SHELL_CACHE)).put(HOME, response.clone());
    }
    return response;
  } catch (error) {
    return (await caches.match(HOME, { cacheName: SHELL_CACHE })) || Response.error();
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname.startsWith(HOME)) {
    event.respondWith(page(request));
  } else if (FRESH.includes(url.pathname)) {
    event.respondWith(fromNetworkFirst(request));
  } else if (SHELL.includes(url.pathname)) {
    event.respondWith(fromCacheFirst(request, SHELL_CACHE));
  } else if (/\/photos\/\d+\/thumb\.jpg$/.test(url.pathname)) {
    event.respondWith(fromCacheFirst(request, PHOTO_CACHE));
  }
});
