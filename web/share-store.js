// Hearth viewer: the shares this browser received, kept in IndexedDB (the
// browser's twin of the device's inbox, src/share/inbox.rs). A share is kept
// whole once, by id, with its JPEG as a Blob, so the page still shows it after
// a reload; the chunks of an unfinished transfer are kept too, so a cut
// transfer resumes where it stopped.

import * as store from './store.js';

const chunkKey = (id, index) => `${id}/${String(index).padStart(10, '0')}`;
const chunkRange = (id) => IDBKeyRange.bound(`${id}/`, `${id}/\uffff`);

/**
 * A received share as the page shows it: `id`, `from` (the author's key),
 * `kind`, `text`, `createdAt`, `receivedAt`, `photo` (a JPEG Blob or null)
 * and `manifest` (as signed, to check it again).
 */
function record(share, jpeg) {
  return {
    id: share.id,
    from: share.body.author,
    kind: share.body.kind,
    text: share.body.text,
    createdAt: share.body.created_at,
    receivedAt: Date.now(),
    photo: jpeg ? new Blob([jpeg], { type: 'image/jpeg' }) : null,
    manifest: share.manifest,
  };
}

/** The received shares, in IndexedDB; what share-link.js receives into. */
export const shareStore = {
  /** Whether share `id` is already stored whole. */
  isStored(id) {
    return store.has('shares', id);
  },

  /** Indices of the chunks of share `id` held from an earlier, cut transfer. */
  async chunksHeld(id) {
    const keys = await store.keys('share_chunks', chunkRange(id));
    return keys.map((k) => Number(k.slice(id.length + 1))).sort((a, b) => a - b);
  },

  /** Keeps one verified chunk. */
  putChunk(id, index, data) {
    return store.put('share_chunks', chunkKey(id, index), data.slice());
  },

  /** Drops the chunks held of share `id` (its sender withdrew it). */
  dropChunks(id) {
    return store.remove('share_chunks', chunkRange(id));
  },

  /** The JPEG put together from every held chunk, in order. */
  async assemble(share) {
    const parts = await store.all('share_chunks', chunkRange(share.id));
    const length = parts.reduce((n, p) => n + p.byteLength, 0);
    const jpeg = new Uint8Array(length);
    let at = 0;
    for (const part of parts) {
      jpeg.set(part instanceof Uint8Array ? part : new Uint8Array(part), at);
      at += part.byteLength;
    }
    return jpeg;
  },

  /** Stores a verified share (and its JPEG) once, drops its chunks, and returns its record. */
  async store(share, jpeg) {
    const kept = record(share, jpeg);
    await store.put('shares', share.id, kept);
    await store.remove('share_chunks', chunkRange(share.id));
    return kept;
  },

  /** The shares `author` (a key as text) sent this browser, newest first. */
  async list(author) {
    const all = await store.all('shares');
    return all
      .filter((r) => r.from === author)
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1));
  },
};
