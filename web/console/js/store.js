// The console's data on this device, in IndexedDB: the outbox (writes waiting for the network,
// in order), drafts (what was typed into a form and not yet sent) and the last view of each
// screen (shown while offline). One small promise wrapper, no library.

const DB_NAME = 'fovea-console';
const DB_VERSION = 1;
let opening = null;

function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains('outbox')) db.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true });
        if (!db.objectStoreNames.contains('drafts')) db.createObjectStore('drafts');
        if (!db.objectStoreNames.contains('views')) db.createObjectStore('views');
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return opening;
}

function done(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function tx(storeName, mode, fn) {
  const db = await open();
  const t = db.transaction(storeName, mode);
  const result = await fn(t.objectStore(storeName));
  await new Promise((resolve, reject) => {
    t.oncomplete = resolve;
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
  return result;
}

export const store = {
  get: (name, key) => tx(name, 'readonly', (s) => done(s.get(key))),
  put: (name, value, key) => tx(name, 'readwrite', (s) => done(key === undefined ? s.put(value) : s.put(value, key))),
  delete: (name, key) => tx(name, 'readwrite', (s) => done(s.delete(key))),
  all: (name) => tx(name, 'readonly', (s) => done(s.getAll())),
};
