// Hearth viewer: identity, contact codes and sealed envelopes with WebCrypto,
// byte-compatible with the device (src/identity/contact_code.rs and
// src/envelope/mod.rs). Keys are made non-extractable and kept in IndexedDB:
// a script on this page can use them but nobody can copy them out.

import * as store from './store.js';

const subtle = globalThis.crypto && globalThis.crypto.subtle;
const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

// ---------------------------------------------------------------- bytes --

const B64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64_INDEX = new Map([...B64_ALPHABET].map((c, i) => [c, i]));

/** Unpadded base64url, as everywhere in Hearth. */
export function b64(bytes) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = '';
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i] << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((b.length - i) * 8) / 6));
    for (let j = 0; j < chars; j++) out += B64_ALPHABET[(n >> (18 - 6 * j)) & 63];
  }
  return out;
}

/** Decodes unpadded base64url strictly (as the device does); throws on anything else. */
export function fromB64(text) {
  if (typeof text !== 'string' || text.length % 4 === 1) throw new Error('not base64url');
  const out = new Uint8Array(Math.floor((text.length * 6) / 8));
  let bits = 0;
  let value = 0;
  let o = 0;
  for (const c of text) {
    const v = B64_INDEX.get(c);
    if (v === undefined) throw new Error('not base64url');
    value = (value << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (value >> bits) & 0xff;
    }
  }
  if ((value & ((1 << bits) - 1)) !== 0) throw new Error('not base64url (trailing bits)');
  return out;
}

/** Concatenates byte arrays. */
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function equalBytes(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** `n` random bytes. */
export function randomBytes(n) {
  return crypto.getRandomValues(new Uint8Array(n));
}

// ------------------------------------------------------------- identity --

/** Whether this browser has what the viewer needs: a secure page with Ed25519 and X25519. */
export async function supported() {
  if (!globalThis.isSecureContext || !subtle) return false;
  try {
    await subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
    await subtle.generateKey({ name: 'X25519' }, false, ['deriveBits']);
    return true;
  } catch {
    return false;
  }
}

/**
 * This browser's keys: Ed25519 to sign (its name on the network), X25519 to
 * open what is sealed to it. Private halves never leave WebCrypto.
 */
export class Identity {
  constructor({ sign, seal, signPublic, sealPublic }) {
    this.signKeys = sign;
    this.sealKeys = seal;
    /** Raw Ed25519 public key (32 bytes). */
    this.signPublic = signPublic;
    /** Raw X25519 public key (32 bytes). */
    this.sealPublic = sealPublic;
  }

  /** A fresh identity with non-extractable private keys. */
  static async generate() {
    const sign = await subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
    const seal = await subtle.generateKey({ name: 'X25519' }, false, ['deriveBits']);
    return Identity.fromKeys(sign, seal);
  }

  /** Wraps existing key pairs (from IndexedDB, or imported by tests). */
  static async fromKeys(sign, seal) {
    const signPublic = new Uint8Array(await subtle.exportKey('raw', sign.publicKey));
    const sealPublic = new Uint8Array(await subtle.exportKey('raw', seal.publicKey));
    return new Identity({ sign, seal, signPublic, sealPublic });
  }

  /**
   * Imports secret keys given as base64url (the device's identity.toml form).
   * For interoperability tests only: real identities are generated here.
   */
  static async importSecrets(signSecret, sealSecret, signPublic, sealPublic) {
    const jwk = (crv, d, x) => ({ kty: 'OKP', crv, d, x });
    const sign = {
      privateKey: await subtle.importKey('jwk', jwk('Ed25519', signSecret, signPublic), 'Ed25519', false, ['sign']),
      publicKey: await subtle.importKey('raw', fromB64(signPublic), 'Ed25519', true, ['verify']),
    };
    const seal = {
      privateKey: await subtle.importKey('jwk', jwk('X25519', sealSecret, sealPublic), 'X25519', false, ['deriveBits']),
      publicKey: await subtle.importKey('raw', fromB64(sealPublic), 'X25519', true, []),
    };
    return Identity.fromKeys(sign, seal);
  }

  /** This browser's identity from IndexedDB, made and stored on first use. */
  static async loadOrCreate() {
    let record = await store.get('identity', 'self');
    if (!record) {
      const fresh = await Identity.generate();
      record = await store.putIfAbsent('identity', 'self', { sign: fresh.signKeys, seal: fresh.sealKeys });
    }
    return Identity.fromKeys(record.sign, record.seal);
  }

  /** The key that names this browser, as text (43 characters). */
  get peerKey() {
    return b64(this.signPublic);
  }

  /** Ed25519 signature (64 bytes) over `message`. */
  async sign(message) {
    return new Uint8Array(await subtle.sign('Ed25519', this.signKeys.privateKey, message));
  }

  /** X25519 shared secret with `publicRaw`; throws on a non-contributory result. */
  async sharedSecret(publicRaw) {
    return x25519(this.sealKeys.privateKey, publicRaw);
  }
}

async function x25519(privateKey, publicRaw) {
  const pub = await subtle.importKey('raw', publicRaw, 'X25519', true, []);
  const shared = new Uint8Array(await subtle.deriveBits({ name: 'X25519', public: pub }, privateKey, 256));
  if (shared.every((b) => b === 0)) throw new Error('non-contributory X25519 result');
  return shared;
}

async function verifyEd25519(publicRaw, signature, message) {
  let key;
  try {
    key = await subtle.importKey('raw', publicRaw, 'Ed25519', false, ['verify']);
  } catch {
    return false;
  }
  try {
    return await subtle.verify('Ed25519', key, signature, message);
  } catch {
    return false;
  }
}

/** The bytes signed to answer a relay challenge: `"hearth-relay-auth-v1" || nonce`. */
export function relayAuthMessage(nonce) {
  return concat(encoder.encode('hearth-relay-auth-v1'), nonce);
}

// --------------------------------------------------------- contact code --

const CODE_PREFIX = 'hearth1.';
const CODE_VERSION = 1;
const CODE_DOMAIN = encoder.encode('hearth-contact-code-v1');
/** Longest display name in a contact code, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 64;
/** Most relays one contact code carries. */
export const MAX_RELAYS = 4;

/** A contact code that cannot be used, with words for the person holding it. */
export class ContactCodeError extends Error {
  constructor(kind, detail) {
    super(
      kind === 'not_a_code'
        ? 'not a Hearth contact code (it should start with `hearth1.`)'
        : kind === 'bad_signature'
          ? "the contact code's signature does not match its keys; it was altered"
          : `the contact code is damaged (${detail}); ask for it again`,
    );
    this.name = 'ContactCodeError';
    this.kind = kind;
  }
}

function truncateUtf8(text, max) {
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    const n = encoder.encode(ch).length;
    if (bytes + n > max) break;
    out += ch;
    bytes += n;
  }
  return out;
}

function codeBody(signPublic, sealPublic, name, relays) {
  const parts = [Uint8Array.of(CODE_VERSION), signPublic, sealPublic];
  const nameBytes = encoder.encode(name);
  parts.push(Uint8Array.of(nameBytes.length), nameBytes, Uint8Array.of(relays.length));
  for (const relay of relays) {
    const r = encoder.encode(relay);
    parts.push(Uint8Array.of(r.length), r);
  }
  return concat(...parts);
}

/** Makes and signs `identity`'s contact code; long names and extra relays are cut, as on the device. */
export async function makeContactCode(identity, name, relays) {
  const cutName = truncateUtf8(name, MAX_NAME_BYTES);
  const cutRelays = relays.slice(0, MAX_RELAYS).filter((r) => encoder.encode(r).length <= 255);
  const body = codeBody(identity.signPublic, identity.sealPublic, cutName, cutRelays);
  const signature = await identity.sign(concat(CODE_DOMAIN, body));
  return CODE_PREFIX + b64(concat(body, signature));
}

/**
 * Reads and verifies a contact code. Returns `{ key, peerKey, sealKey, name,
 * relays, text }` (`key` is the peer key as text); throws ContactCodeError.
 */
export async function parseContactCode(text) {
  const trimmed = String(text).trim();
  if (!trimmed.startsWith(CODE_PREFIX)) throw new ContactCodeError('not_a_code');
  let bytes;
  try {
    bytes = fromB64(trimmed.slice(CODE_PREFIX.length));
  } catch {
    throw new ContactCodeError('malformed', 'not base64url');
  }
  let at = 0;
  const take = (n) => {
    if (bytes.length - at < n) throw new ContactCodeError('malformed', 'cut short');
    const out = bytes.subarray(at, at + n);
    at += n;
    return out;
  };
  const string = (n) => {
    try {
      return strictUtf8.decode(take(n));
    } catch (e) {
      if (e instanceof ContactCodeError) throw e;
      throw new ContactCodeError('malformed', 'text is not UTF-8');
    }
  };
  if (take(1)[0] !== CODE_VERSION) throw new ContactCodeError('malformed', 'unknown version');
  const peerKey = take(32).slice();
  const sealKey = take(32).slice();
  const name = string(take(1)[0]);
  const relayCount = take(1)[0];
  if (relayCount > MAX_RELAYS) throw new ContactCodeError('malformed', 'too many relays');
  const relays = [];
  for (let i = 0; i < relayCount; i++) relays.push(string(take(1)[0]));
  const bodyLength = at;
  const signature = take(64);
  if (at !== bytes.length) throw new ContactCodeError('malformed', 'trailing bytes');
  const signed = concat(CODE_DOMAIN, bytes.subarray(0, bodyLength));
  if (!(await verifyEd25519(peerKey, signature, signed))) {
    throw new ContactCodeError('bad_signature');
  }
  return { key: b64(peerKey), peerKey, sealKey, name, relays, text: trimmed };
}

// ------------------------------------------------------------- envelope --

const ENVELOPE_VERSION = 1;
const SIGN_DOMAIN = encoder.encode('hearth-envelope-v1\0');
const SEAL_INFO = encoder.encode('hearth-seal-v1');
/** Largest sealed envelope accepted, in bytes. */
export const MAX_ENVELOPE_BYTES = 32 * 1024;
/** How far an envelope's timestamp may be from this browser's clock. */
export const REPLAY_WINDOW_MS = 120_000;
const INNER_FIELDS = ['v', 'from', 'from_seal', 'to', 'ts', 'nonce', 'body'];

const ENVELOPE_MESSAGES = {
  too_large: 'the envelope is over the size limit',
  malformed: 'not a Hearth envelope',
  unsealable: 'the envelope cannot be opened: it was altered or is not sealed to this browser',
  bad_content: 'the envelope content is invalid',
  bad_signature: 'the envelope signature does not match its sender',
  wrong_recipient: 'the envelope was signed for another recipient',
  sender_mismatch: 'the relay says the envelope came from another key than the one that signed it',
  stale: "the envelope's time is too far from this computer's clock; check the clock",
  replayed: 'the envelope was already received once; this is a replay',
};

/** Why an envelope was refused; `kind` is one of the keys above. */
export class EnvelopeError extends Error {
  constructor(kind, detail) {
    super(ENVELOPE_MESSAGES[kind] + (detail ? ` (${detail})` : ''));
    this.name = 'EnvelopeError';
    this.kind = kind;
  }
}

/** Remembers recent envelope nonces, as the device's ReplayGuard does. */
export class ReplayGuard {
  constructor(maxRemembered = 10_000) {
    this.seen = new Map();
    this.max = maxRemembered;
  }

  /** Accepts `(from, nonce, ts)` once, if `ts` is within the window of `nowMs`. */
  check(from, nonce, ts, nowMs) {
    const skew = ts - nowMs;
    if (Math.abs(skew) > REPLAY_WINDOW_MS) throw new EnvelopeError('stale', `${skew} ms`);
    for (const [id, expires] of this.seen) {
      if (expires >= nowMs - REPLAY_WINDOW_MS) break;
      this.seen.delete(id);
    }
    const id = `${from} ${nonce}`;
    if (this.seen.has(id)) throw new EnvelopeError('replayed');
    this.seen.set(id, Math.max(ts, nowMs));
    while (this.seen.size > this.max) this.seen.delete(this.seen.keys().next().value);
  }
}

async function sealKeyAndNonce(shared, ephPublic, recipientSeal) {
  const ikm = await subtle.importKey('raw', shared, 'HKDF', false, ['deriveBits']);
  const okm = new Uint8Array(
    await subtle.deriveBits(
      { name: 'HKDF', hash: 'SHA-256', salt: concat(ephPublic, recipientSeal), info: SEAL_INFO },
      ikm,
      44 * 8,
    ),
  );
  const key = await subtle.importKey('raw', okm.subarray(0, 32), 'AES-GCM', false, ['encrypt', 'decrypt']);
  return { key, iv: okm.slice(32) };
}

/**
 * Signs `body` as `identity` and seals it to `to` (`{ peerKey, sealKey }`, raw
 * keys), stamped `nowMs`. Returns the wire bytes.
 */
export async function seal(identity, to, body, nowMs = Date.now()) {
  const inner = encoder.encode(
    JSON.stringify({
      v: ENVELOPE_VERSION,
      from: identity.peerKey,
      from_seal: b64(identity.sealPublic),
      to: b64(to.peerKey),
      ts: nowMs,
      nonce: b64(randomBytes(16)),
      body,
    }),
  );
  const signature = await identity.sign(concat(SIGN_DOMAIN, inner));
  const ephemeral = await subtle.generateKey({ name: 'X25519' }, false, ['deriveBits']);
  const ephPublic = new Uint8Array(await subtle.exportKey('raw', ephemeral.publicKey));
  const shared = await x25519(ephemeral.privateKey, to.sealKey);
  const { key, iv } = await sealKeyAndNonce(shared, ephPublic, to.sealKey);
  const aad = concat(Uint8Array.of(ENVELOPE_VERSION), ephPublic);
  const ciphertext = new Uint8Array(
    await subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad }, key, concat(signature, inner)),
  );
  return concat(aad, ciphertext);
}

function key32(text, what) {
  let bytes;
  try {
    bytes = fromB64(text);
  } catch {
    throw new EnvelopeError('bad_content', `${what} is not base64url`);
  }
  if (bytes.length !== 32) throw new EnvelopeError('bad_content', `${what} is not a key`);
  return bytes;
}

/**
 * Opens an envelope sealed to `identity`: checks the seal, the signature, the
 * recipient, the sender the relay claimed (`relayFrom`, raw key or null), the
 * time and that it is not a replay. Returns `{ from, fromSeal, ts, body }`
 * (`from` as text, `fromSeal` raw); throws EnvelopeError.
 */
export async function open(identity, wire, relayFrom, nowMs, replay) {
  if (wire.length > MAX_ENVELOPE_BYTES) throw new EnvelopeError('too_large', `${wire.length} bytes`);
  if (wire.length < 1 + 32 + 16 + 64) throw new EnvelopeError('malformed', 'too short');
  if (wire[0] !== ENVELOPE_VERSION) throw new EnvelopeError('malformed', 'unknown version');
  const ephPublic = wire.slice(1, 33);
  let plaintext;
  try {
    const shared = await identity.sharedSecret(ephPublic);
    const { key, iv } = await sealKeyAndNonce(shared, ephPublic, identity.sealPublic);
    plaintext = new Uint8Array(
      await subtle.decrypt({ name: 'AES-GCM', iv, additionalData: wire.subarray(0, 33) }, key, wire.subarray(33)),
    );
  } catch {
    throw new EnvelopeError('unsealable');
  }
  if (plaintext.length < 64) throw new EnvelopeError('malformed', 'no signature');
  const signature = plaintext.subarray(0, 64);
  const innerBytes = plaintext.subarray(64);
  let inner;
  try {
    inner = JSON.parse(strictUtf8.decode(innerBytes));
  } catch (e) {
    throw new EnvelopeError('bad_content', e.message);
  }
  if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) {
    throw new EnvelopeError('bad_content', 'not an object');
  }
  const unknown = Object.keys(inner).filter((k) => !INNER_FIELDS.includes(k));
  if (unknown.length) throw new EnvelopeError('bad_content', `unknown field ${unknown[0]}`);
  if (inner.v !== ENVELOPE_VERSION) throw new EnvelopeError('malformed', 'unknown inner version');
  const from = key32(inner.from, 'from');
  const fromSeal = key32(inner.from_seal, 'from_seal');
  const to = key32(inner.to, 'to');
  if (!Number.isSafeInteger(inner.ts)) throw new EnvelopeError('bad_content', 'ts is not an integer');
  if (typeof inner.nonce !== 'string') throw new EnvelopeError('bad_content', 'nonce is not text');
  if (inner.body === undefined) throw new EnvelopeError('bad_content', 'no body');
  if (!(await verifyEd25519(from, signature, concat(SIGN_DOMAIN, innerBytes)))) {
    throw new EnvelopeError('bad_signature');
  }
  if (!equalBytes(to, identity.signPublic)) throw new EnvelopeError('wrong_recipient');
  if (relayFrom && !equalBytes(relayFrom, from)) throw new EnvelopeError('sender_mismatch');
  replay.check(b64(from), inner.nonce, inner.ts, nowMs);
  return { from: b64(from), fromSeal, ts: inner.ts, body: inner.body };
}
