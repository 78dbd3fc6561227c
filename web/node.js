// Hearth viewer: this browser on the signalling network (the JavaScript twin
// of src/node). It keeps the relay connection, opens every incoming envelope
// (seal, signature, recipient, time, replay) and routes the signal inside:
// pairing answers to listeners, session signals to the session they belong to.

import { open, ReplayGuard, seal, makeContactCode } from './crypto.js';
import { RelayClient } from './relay.js';

const SIGNAL_TYPES = new Set([
  'pair_request', 'pair_approved', 'pair_refused', 'offer', 'answer', 'candidate', 'refused', 'bye',
  'restart_offer', 'restart_answer', 'restart_request',
]);
const SESSION_TYPES = new Set([
  'answer', 'candidate', 'refused', 'bye', 'restart_offer', 'restart_answer', 'restart_request',
]);

/** A peer we could not reach: it is not connected to the relay now. */
export class OfflineError extends Error {
  constructor(name) {
    super(`${name || 'the device'} is offline`);
    this.name = 'OfflineError';
  }
}

/** Checks the shape of a signal from the network (as strictly as the device's serde types). */
export function validSignal(body) {
  if (body === null || typeof body !== 'object' || !SIGNAL_TYPES.has(body.type)) return false;
  const str = (v) => typeof v === 'string';
  const optStr = (v) => v === undefined || v === null || str(v);
  switch (body.type) {
    case 'pair_request':
      return str(body.code);
    case 'pair_refused':
      return str(body.reason);
    case 'offer':
      return str(body.session) && str(body.sdp);
    case 'answer':
      return str(body.session) && str(body.sdp) && typeof body.video === 'boolean'
        && typeof body.audio === 'boolean' && (body.denied === undefined || Array.isArray(body.denied));
    case 'candidate':
      return str(body.session) && str(body.candidate) && optStr(body.sdp_mid);
    case 'refused':
      return str(body.session) && str(body.reason);
    case 'bye':
      return str(body.session) && optStr(body.reason);
    case 'restart_offer':
    case 'restart_answer':
      return str(body.session) && str(body.sdp);
    case 'restart_request':
      return str(body.session) && str(body.cause);
    default:
      return true;
  }
}

/** Signals of one session, read in order with an optional time limit. */
export class SignalQueue {
  constructor(onClose) {
    this.items = [];
    this.waiters = [];
    this.closed = false;
    this.onClose = onClose;
  }

  push(signal) {
    const waiter = this.waiters.shift();
    if (waiter) waiter(signal);
    else this.items.push(signal);
  }

  /** The next signal, or null once closed or after `timeoutMs`. */
  next(timeoutMs) {
    if (this.items.length) return Promise.resolve(this.items.shift());
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      let timer;
      const waiter = (signal) => {
        clearTimeout(timer);
        resolve(signal);
      };
      this.waiters.push(waiter);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          resolve(null);
        }, timeoutMs);
      }
    });
  }

  /** Stops routing; pending reads get null. */
  close() {
    if (this.closed) return;
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter(null);
    this.onClose();
  }
}

/**
 * This browser on the network. `identity` is a crypto.js Identity; `relays`
 * the relay URLs to try. Events: `relay` (`detail.connected`), `pair_approved`
 * and `pair_refused` (`detail.from`, `detail.reason`), `refused_envelope`.
 */
export class HearthNode extends EventTarget {
  constructor(identity, relays, { name = '' } = {}) {
    super();
    this.identity = identity;
    this.relays = relays;
    this.name = name;
    this.relay = new RelayClient(relays, identity);
    this.replay = new ReplayGuard();
    this.sessions = new Map();
    this.known = new Map();
    this.relay.addEventListener('connected', () => this.emit('relay', { connected: true }));
    this.relay.addEventListener('disconnected', (e) => this.emit('relay', { connected: false, ...e.detail }));
    this.relay.addEventListener('retrying', (e) => this.emit('relay', { connected: false, ...e.detail }));
    this.relay.addEventListener('replaced', () => this.emit('replaced', {}));
    // Envelopes are opened one after another, so signals keep their order.
    this.inbox = Promise.resolve();
    this.relay.addEventListener('deliver', (e) => {
      this.inbox = this.inbox.then(() => this.deliver(e.detail.from, e.detail.data));
    });
  }

  /** Connects to the relay (and keeps reconnecting). */
  start() {
    this.relay.start();
    return this;
  }

  /** Disconnects for good. */
  stop() {
    this.relay.stop();
    for (const queue of [...this.sessions.values()]) queue.close();
  }

  /** This browser's key as text. */
  get peerKey() {
    return this.identity.peerKey;
  }

  /** The STUN/TURN servers the relay handed out, while their credentials hold. */
  iceServers() {
    return this.relay.iceServers();
  }

  /** Whether the relay connection is up. */
  get connected() {
    return this.relay.connected;
  }

  /** This browser's signed contact code, named `name`. */
  contactCode(name = this.name) {
    return makeContactCode(this.identity, name, this.relays.filter((r) => /^wss?:\/\//.test(r)));
  }

  /**
   * Accepts signals from `contact` (a parsed contact code). Everything from a
   * key that was not added is dropped: a viewer talks only to its device.
   */
  addContact(contact) {
    this.known.set(contact.key, contact);
  }

  /** Seals `signal` to `contact` and hands it to the relay; throws OfflineError if it is not connected. */
  async sendTo(contact, signal) {
    const wire = await seal(this.identity, contact, signal, Date.now());
    const outcome = await this.relay.send(contact.peerKey, wire);
    if (outcome === 'offline') throw new OfflineError(contact.name);
  }

  /** Asks `contact`'s owner to accept this browser, named `name`. */
  async requestPairing(contact, name) {
    this.name = name;
    this.addContact(contact);
    await this.sendTo(contact, { type: 'pair_request', code: await this.contactCode(name) });
  }

  /** Routes later signals of `session` with `contact` to the returned queue. */
  openSession(contact, session) {
    const id = `${contact.key} ${session}`;
    const queue = new SignalQueue(() => this.sessions.delete(id));
    this.sessions.set(id, queue);
    return queue;
  }

  async deliver(claimedFrom, data) {
    let opened;
    try {
      opened = await open(this.identity, data, claimedFrom, Date.now(), this.replay);
    } catch (error) {
      console.warn('hearth: refused an envelope:', error.message);
      this.emit('refused_envelope', { error });
      return;
    }
    const contact = this.known.get(opened.from);
    const signal = opened.body;
    if (!contact || !validSignal(signal)) {
      console.warn('hearth: ignored a signal from an unknown key or of an unknown shape');
      return;
    }
    if (SESSION_TYPES.has(signal.type)) {
      const queue = this.sessions.get(`${opened.from} ${signal.session}`);
      if (queue) queue.push(signal);
    } else if (signal.type === 'pair_approved') {
      this.emit('pair_approved', { from: opened.from });
    } else if (signal.type === 'pair_refused') {
      this.emit('pair_refused', { from: opened.from, reason: signal.reason });
    } else if (signal.type === 'offer') {
      // A viewer calls; it does not answer calls.
      this.sendTo(contact, {
        type: 'refused', session: signal.session, reason: 'this is a viewer; it does not answer calls',
      }).catch(() => {});
    }
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
