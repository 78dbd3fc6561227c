// Hearth viewer: a tiny IndexedDB wrapper. Keeps this browser's identity
// (non-extractable CryptoKeys are stored as they are, never as bytes) and what
// it knows about the devices it paired with and the shares they sent.
// Nothing here leaves the browser.

const DB_NAME = 'hearth-viewer';
const DB_VERSION = 2;
/**
 * Object stores: `identity` (one record, key "self"), `devices` (by device
 * key), `shares` (received shares, by share id) and `share_chunks` (chunks of
 * unfinished transfers, by "ID/INDEX"). Version 2 added the last two.
 */
export const STORES = ['identity', 'devices', 'shares', 'share_chunks'];

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
    // An open tab with an older copy of the page holds the old version until it closes.
    req.onblocked = () => console.warn('hearth: close the other tabs of this page to finish updating it');
    opening = request(req).then((database) => {
      // A newer copy of the page (in another tab) upgrades the database: step aside.
      database.onversionchange = () => {
        database.close();
        opening = null;
      };
      return database;
    });
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

/** Every value in `store` (or under `range`, an IDBKeyRange). */
export function all(store, range) {
  return run(store, 'readonly', (s) => s.getAll(range));
}

/** Every key in `store` under `range` (an IDBKeyRange). */
export function keys(store, range) {
  return run(store, 'readonly', (s) => s.getAllKeys(range));
}

/** Whether `store` holds something under `key`. */
export async function has(store, key) {
  return (await run(store, 'readonly', (s) => s.count(key))) > 0;
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
