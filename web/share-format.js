// Hearth viewer: the share format, byte-compatible with the device
// (src/share/manifest.rs and src/share/wire.rs; docs/protocol.md, "Shares").
// A manifest carries its signed body as a string, so the browser verifies the
// very bytes the author signed; a body this side makes is written exactly as
// the device's serde writes it. Chunk frames are "HSC1" ‖ id ‖ index ‖ data.

import { b64, concat, fromB64 } from './crypto.js';

const subtle = globalThis.crypto && globalThis.crypto.subtle;
const encoder = new TextEncoder();
const SIGN_DOMAIN = encoder.encode('hearth-share-v1\0');
const KINDS = new Set(['snapshot', 'photo', 'thought']);
const BODY_FIELDS = new Set(['v', 'author', 'created_at', 'kind', 'text', 'jpeg', 'audience']);
const JPEG_FIELDS = new Set(['len', 'sha256', 'chunk_size', 'chunks']);

/** Bytes of JPEG per chunk frame, as devices send them. */
export const CHUNK_SIZE = 48 * 1024;
/** Bytes before a chunk's data: "HSC1", the id (32 bytes), the index (u32 BE). */
export const CHUNK_HEADER = 4 + 32 + 4;
const CHUNK_MAGIC = encoder.encode('HSC1');

/**
 * Caps on what a peer may send (the device's `Limits::default()`); anything
 * larger is refused.
 */
export const LIMITS = Object.freeze({
  maxManifestBytes: 32 * 1024,
  maxTextBytes: 4096,
  maxAudience: 64,
  maxJpegBytes: 4 * 1024 * 1024,
  maxChunkBytes: 60 * 1024,
});

/** A share that is malformed, forged, too large, damaged or not allowed; `kind` says which. */
export class ShareError extends Error {
  constructor(kind, detail) {
    super(
      {
        malformed: `malformed share: ${detail}`,
        bad_signature: "the share's signature does not verify: it was forged or altered, and was refused",
        too_large: `share too large: ${detail}`,
        corrupt: `share damaged in transit: ${detail}; it will be offered again`,
        not_allowed: `share refused: ${detail}`,
        storage: `cannot keep the share in this browser: ${detail}`,
      }[kind] || detail,
    );
    this.name = 'ShareError';
    /** `malformed`, `bad_signature`, `too_large`, `corrupt`, `not_allowed` or `storage`. */
    this.kind = kind;
  }
}

/** Lowercase hex of bytes. */
export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function fromHex(text) {
  if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw new ShareError('malformed', 'share id is not hex');
  return Uint8Array.from(text.match(/../g) || [], (h) => parseInt(h, 16));
}

/** SHA-256 of bytes, as lowercase hex. */
export async function sha256Hex(bytes) {
  return hex(new Uint8Array(await subtle.digest('SHA-256', bytes)));
}

/** A share's id: hex SHA-256 of its body text (a content hash). */
export function shareId(bodyText) {
  return sha256Hex(encoder.encode(bodyText));
}

/** Describes a JPEG as a share carries it: length, hash, chunk size and each chunk's hash. */
export async function describeJpeg(jpeg, chunkSize = CHUNK_SIZE) {
  const chunks = [];
  for (let at = 0; at < jpeg.length; at += chunkSize) {
    chunks.push(await sha256Hex(jpeg.subarray(at, at + chunkSize)));
  }
  return { len: jpeg.length, sha256: await sha256Hex(jpeg), chunk_size: chunkSize, chunks };
}

/**
 * The body's JSON text exactly as the device's serde writes a `ShareBody`:
 * fields in declaration order, no spaces, `jpeg` null for a thought.
 */
export function bodyText(body) {
  const jpeg = body.jpeg
    ? { len: body.jpeg.len, sha256: body.jpeg.sha256, chunk_size: body.jpeg.chunk_size, chunks: body.jpeg.chunks }
    : null;
  return JSON.stringify({
    v: body.v,
    author: body.author,
    created_at: body.created_at,
    kind: body.kind,
    text: body.text,
    jpeg,
    audience: body.audience,
  });
}

/**
 * Makes and signs a share as `identity` (a crypto.js Identity): `kind`
 * `photo` (with `jpeg`, a Uint8Array) or `thought`, `text`, `audience` (keys
 * as text) and `createdAt` (unix ms; the same inputs make the same share,
 * with the same id). Returns `{ id, body, manifest }`.
 */
export async function signShare(identity, { kind, text = '', jpeg = null, audience, createdAt = Date.now() }) {
  const body = {
    v: 1,
    author: identity.peerKey,
    created_at: createdAt,
    kind,
    // Lone surrogates cannot be written as UTF-8 (nor read by the device).
    text: typeof text.toWellFormed === 'function' ? text.toWellFormed() : text,
    jpeg: jpeg ? await describeJpeg(jpeg) : null,
    audience,
  };
  checkShape(body, LIMITS);
  const signed = bodyText(body);
  const sig = await identity.sign(concat(SIGN_DOMAIN, encoder.encode(signed)));
  return { id: await shareId(signed), body, manifest: { body: signed, sig: b64(sig) } };
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isUint = (v, max = Number.MAX_SAFE_INTEGER) => Number.isInteger(v) && v >= 0 && v <= max;

function onlyFields(value, allowed, what) {
  for (const field of Object.keys(value)) {
    if (!allowed.has(field)) throw new ShareError('malformed', `unknown field \`${field}\` in ${what}`);
  }
}

function peerKey(value, what) {
  let raw;
  try {
    raw = fromB64(value);
  } catch {
    raw = null;
  }
  if (typeof value !== 'string' || !raw || raw.length !== 32) {
    throw new ShareError('malformed', `${what} is not a key`);
  }
  return value;
}

// The body as the device's serde reads it: known fields only, each of its type.
function parseBody(text) {
  let body;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw new ShareError('malformed', e.message);
  }
  if (!isObject(body)) throw new ShareError('malformed', 'the body is not an object');
  onlyFields(body, BODY_FIELDS, 'the body');
  for (const field of BODY_FIELDS) {
    if (field !== 'jpeg' && !(field in body)) throw new ShareError('malformed', `missing field \`${field}\``);
  }
  if (!isUint(body.v, 255)) throw new ShareError('malformed', 'v is not a version');
  peerKey(body.author, 'author');
  if (!isUint(body.created_at)) throw new ShareError('malformed', 'created_at is not a time');
  if (!KINDS.has(body.kind)) throw new ShareError('malformed', `unknown kind ${JSON.stringify(body.kind)}`);
  if (typeof body.text !== 'string') throw new ShareError('malformed', 'text is not a string');
  if (!Array.isArray(body.audience)) throw new ShareError('malformed', 'audience is not a list');
  body.audience.forEach((k) => peerKey(k, 'an audience key'));
  if (body.jpeg === undefined) body.jpeg = null;
  if (body.jpeg !== null) {
    const j = body.jpeg;
    if (!isObject(j)) throw new ShareError('malformed', 'jpeg is not an object');
    onlyFields(j, JPEG_FIELDS, 'jpeg');
    if (!isUint(j.len) || typeof j.sha256 !== 'string' || !isUint(j.chunk_size, 0xffffffff)
      || !Array.isArray(j.chunks) || !j.chunks.every((c) => typeof c === 'string')) {
      throw new ShareError('malformed', 'jpeg is not a JPEG description');
    }
  }
  return body;
}

// The caps and the rules of a well-formed share (check_shape on the device).
function checkShape(body, limits) {
  const textBytes = encoder.encode(body.text).length;
  if (textBytes > limits.maxTextBytes) {
    throw new ShareError('too_large', `text of ${textBytes} bytes (at most ${limits.maxTextBytes})`);
  }
  if (body.audience.length === 0 || body.audience.length > limits.maxAudience) {
    throw new ShareError('malformed', `an audience of ${body.audience.length} (1 to ${limits.maxAudience})`);
  }
  const jpeg = body.jpeg;
  if (body.kind === 'thought') {
    if (jpeg) throw new ShareError('malformed', 'a thought has no JPEG');
    return;
  }
  if (!jpeg) throw new ShareError('malformed', 'a snapshot or photo needs a JPEG');
  if (jpeg.len === 0 || jpeg.len > limits.maxJpegBytes) {
    throw new ShareError('too_large', `a JPEG of ${jpeg.len} bytes (1 to ${limits.maxJpegBytes})`);
  }
  if (jpeg.chunk_size === 0 || jpeg.chunk_size > limits.maxChunkBytes) {
    throw new ShareError('malformed', `chunk size ${jpeg.chunk_size} (1 to ${limits.maxChunkBytes})`);
  }
  const expected = Math.ceil(jpeg.len / jpeg.chunk_size);
  if (jpeg.chunks.length !== expected) {
    throw new ShareError('malformed', `${jpeg.chunks.length} chunk hashes for ${expected} chunks`);
  }
  const hex64 = (h) => /^[0-9a-fA-F]{64}$/.test(h);
  if (!hex64(jpeg.sha256) || !jpeg.chunks.every(hex64)) {
    throw new ShareError('malformed', 'a hash is not 64 hex digits');
  }
}

/**
 * Checks a manifest (`{ body, sig }`) as the device does: size, format,
 * version, the author's signature, then the caps. Returns `{ id, body,
 * manifest }`; throws ShareError.
 */
export async function verifyManifest(manifest, limits = LIMITS) {
  if (!isObject(manifest) || typeof manifest.body !== 'string' || typeof manifest.sig !== 'string') {
    throw new ShareError('malformed', 'a manifest is { body, sig }');
  }
  onlyFields(manifest, new Set(['body', 'sig']), 'the manifest');
  const bodyBytes = encoder.encode(manifest.body);
  if (bodyBytes.length > limits.maxManifestBytes) {
    throw new ShareError('too_large', `manifest of ${bodyBytes.length} bytes (at most ${limits.maxManifestBytes})`);
  }
  const body = parseBody(manifest.body);
  if (body.v !== 1) throw new ShareError('malformed', `unknown version ${body.v}`);
  let sig;
  try {
    sig = fromB64(manifest.sig);
  } catch {
    throw new ShareError('bad_signature');
  }
  if (sig.length !== 64 || !(await verifySignature(body.author, sig, concat(SIGN_DOMAIN, bodyBytes)))) {
    throw new ShareError('bad_signature');
  }
  checkShape(body, limits);
  return { id: await shareId(manifest.body), body, manifest: { body: manifest.body, sig: manifest.sig } };
}

async function verifySignature(author, sig, message) {
  try {
    const key = await subtle.importKey('raw', fromB64(author), 'Ed25519', false, ['verify']);
    return await subtle.verify('Ed25519', key, sig, message);
  } catch {
    return false;
  }
}

/** How many chunks a share's JPEG has (0 for a thought). */
export function chunkCount(share) {
  return share.body.jpeg ? share.body.jpeg.chunks.length : 0;
}

/** Whether `data` is chunk `index` of `share`: its length and its hash. */
export async function chunkOk(share, index, data) {
  const jpeg = share.body.jpeg;
  if (!jpeg || index >= jpeg.chunks.length) return false;
  const wantLength = Math.min(jpeg.chunk_size, jpeg.len - index * jpeg.chunk_size);
  return data.length === wantLength && (await sha256Hex(data)) === jpeg.chunks[index];
}

/** Whether `jpeg` is `share`'s whole JPEG: its length and its hash. */
export async function jpegOk(share, jpeg) {
  const info = share.body.jpeg;
  return Boolean(info) && info.len === jpeg.length && (await sha256Hex(jpeg)) === info.sha256;
}

/** A chunk frame: "HSC1" ‖ id (32 raw bytes) ‖ index (u32 big endian) ‖ data. */
export function encodeChunk(id, index, data) {
  const raw = fromHex(id);
  if (raw.length !== 32) throw new ShareError('malformed', 'share id is not 32 bytes');
  const frame = new Uint8Array(CHUNK_HEADER + data.length);
  frame.set(CHUNK_MAGIC, 0);
  frame.set(raw, 4);
  new DataView(frame.buffer).setUint32(36, index, false);
  frame.set(data, CHUNK_HEADER);
  return frame;
}

/** Whether a binary message is a chunk frame (starts with "HSC1"). */
export function isChunkFrame(bytes) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  return b.length >= 4 && CHUNK_MAGIC.every((m, i) => b[i] === m);
}

/** Reads a chunk frame into `{ id, index, data }`; throws ShareError if it is not one. */
export function decodeChunk(bytes) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (b.length < CHUNK_HEADER || !isChunkFrame(b)) {
    throw new ShareError('malformed', 'a binary message that is not a share chunk');
  }
  const index = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(36, false);
  return { id: hex(b.subarray(4, 36)), index, data: b.subarray(CHUNK_HEADER) };
}
