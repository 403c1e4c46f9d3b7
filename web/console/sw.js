// The console's service worker: keeps a copy of the console's own files so that a reload
// without a network still opens it (entries typed offline are in IndexedDB). Network first, so
// a server update shows at once; the FHIR API and the login are never cached.
const CACHE = 'fovea-console-v1';
const SHELL = [
  '/console/', '/console/styles.css', '/console/icon.svg', '/console/manifest.webmanifest',
  '/console/js/app.js', '/console/js/auth.js', '/console/js/fhir.js', '/console/js/live.js',
  '/console/js/outbox.js', '/console/js/store.js', '/console/js/ui.js', '/console/js/clinical.js',
  '/console/js/unit_model.js', '/console/js/session_model.js',
  '/console/js/screens/registration.js', '/console/js/screens/technician.js', '/console/js/screens/doctor.js',
  '/console/js/screens/supervisor.js', '/console/js/screens/session.js', '/console/js/screens/common.js',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin || !url.pathname.startsWith('/console/')) return;
  // Every console page is the same document; its query (a login's ?code=) is not part of it.
  const key = url.pathname.endsWith('/') || !url.pathname.split('/').pop().includes('.') ? '/console/' : url.pathname;
  event.respondWith((async () => {
    try {
      const fresh = await fetch(event.request);
      if (fresh.ok) {
        const copy = fresh.clone();
        caches.open(CACHE).then((c) => c.put(key, copy));
      }
      return fresh;
    } catch (err) {
      const cached = await caches.match(key);
      if (cached) return cached;
      throw err;
    }
  })());
});
