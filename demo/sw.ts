// The demo's service worker: makes the page an installable offline app. On install it
// precaches the app shell — the page, its script and styles, the engine worker, both wasm
// parts with their glue, and the default schema — under a cache named by the build's content
// hash; afterwards those files are answered from the cache first, so a reload with the
// browser offline, or with the server down, still starts the app on its local data. The sync
// API (/v1/*) is never touched: it goes to the network as always, and fails as offline.
// A new build (a new hash, so a new sw.js) takes over at once and drops the old cache; the page
// reloads on that change (demo/main.tsx), so page, worker and wasm always come from one build.
//
// demo/build.mjs fills in __PRECACHE__ (paths relative to this file) and __VERSION__.
declare const __PRECACHE__: string[];
declare const __VERSION__: string;

// The few service-worker types used here (the page's DOM typings and the worker lib's clash).
interface LifecycleEvent extends Event { waitUntil(p: Promise<unknown>): void }
interface FetchRequestEvent extends LifecycleEvent { request: Request; respondWith(r: Promise<Response>): void }
interface WorkerScope {
  location: Location;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
  addEventListener(type: 'install' | 'activate', fn: (e: LifecycleEvent) => void): void;
  addEventListener(type: 'fetch', fn: (e: FetchRequestEvent) => void): void;
}
const sw = self as unknown as WorkerScope;

const CACHE = `electrolite-demo-${__VERSION__}`;
const scope = new URL('./', sw.location.href);
const precached = new Set(__PRECACHE__.map((p) => new URL(p, scope).href));

sw.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // `cache: 'reload'` skips the HTTP cache, so the shell stored is this build's.
    await cache.addAll([...precached].map((url) => new Request(url, { cache: 'reload' })));
    await sw.skipWaiting();
  })());
});

sw.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('electrolite-demo-') && name !== CACHE) await caches.delete(name);
    }
    await sw.clients.claim();
  })());
});

sw.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== scope.origin || url.pathname.startsWith('/v1/')) return;
  // The page itself, whatever its query (?user=…): the cached index.html.
  const key = req.mode === 'navigate' ? new URL('./index.html', scope).href : `${url.origin}${url.pathname}`;
  if (!precached.has(key)) return;
  event.respondWith((async () => {
    const hit = await caches.match(key, { cacheName: CACHE });
    return hit ?? fetch(req);
  })());
});
