// Hearth viewer: a tiny IndexedDB wrapper. Keeps this browser's identity
// (non-extractable CryptoKeys are stored as they are, never as bytes) and what
// it knows about the devices it paired with. Nothing here leaves the browser.

const DB_NAME = 'hearth-viewer';
const DB_VERSION = 1;
/** Object stores: `identity` (one record, key "self") and `devices` (by device key). */
export const STORES = ['identity', 'devices'];

let opening = null;

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function db() {
  if (!opening) {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      for (const name of STORES) {
        if (!req.result.objectStoreNames.contains(name)) req.result.createObjectStore(name);
      }
    };
    opening = request(req);
    opening.catch(() => { opening = null; });
  }
  return opening;
}

async function run(store, mode, action) {
  const tx = (await db()).transaction(store, mode);
  const result = await request(action(tx.objectStore(store)));
  await new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error('IndexedDB transaction aborted'));
  });
  return result;
}

/** The value stored under `key` in `store`, or undefined. */
export function get(store, key) {
  return run(store, 'readonly', (s) => s.get(key));
}

/** Stores `value` under `key` in `store`. */
export function put(store, key, value) {
  return run(store, 'readwrite', (s) => s.put(value, key));
}

/** Forgets `key` in `store`. */
export function remove(store, key) {
  return run(store, 'readwrite', (s) => s.delete(key));
}

/**
 * Adds `value` under `key` unless something is already there; returns what is
 * stored afterwards. Two tabs racing to create an identity end up with one.
 */
export async function putIfAbsent(store, key, value) {
  try {
    await run(store, 'readwrite', (s) => s.add(value, key));
    return value;
  } catch (e) {
    if (e && e.name === 'ConstraintError') return get(store, key);
    throw e;
  }
}
