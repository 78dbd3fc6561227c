// Hearth viewer: the relay client. One WebSocket to a Hearth relay
// (src/relay/protocol.rs): answer the challenge with an Ed25519 signature, send
// sealed envelopes, receive deliveries, ping to notice a dead link, and
// reconnect by itself with exponential backoff and full jitter.

import { b64, fromB64, relayAuthMessage } from './crypto.js';

/** Exponential backoff with full jitter: each delay is uniform in [0, ceiling]. */
export class Backoff {
  constructor({ initialMs = 250, factor = 2, maxMs = 30_000, random = Math.random } = {}) {
    Object.assign(this, { initialMs, factor, maxMs, random });
    this.attempt = 0;
  }

  /** Ceiling of the next delay. */
  ceiling() {
    return Math.min(this.maxMs, this.initialMs * this.factor ** this.attempt);
  }

  /** The delay before the next attempt, in ms; each call raises the ceiling. */
  next() {
    const ceiling = this.ceiling();
    this.attempt += 1;
    return Math.round(this.random() * ceiling);
  }

  /** Back to short delays, after a success. */
  reset() {
    this.attempt = 0;
  }
}

/**
 * Relays for a page at `pageUrl` to try, given those in a contact code: the
 * ones the page may use (a secure page cannot open plain ws://), then the
 * page's own `/relay` (`hearth relay` and the device serve one next to the page).
 */
export function relayUrls(codeRelays, pageUrl) {
  const page = new URL(pageUrl);
  const secure = page.protocol === 'https:';
  const urls = codeRelays.filter((u) => u.startsWith('wss://') || (!secure && u.startsWith('ws://')));
  const own = new URL('relay', page);
  own.protocol = secure ? 'wss:' : 'ws:';
  own.hash = '';
  own.search = '';
  if (!urls.includes(own.href)) urls.push(own.href);
  return urls;
}

/** A send the relay did not take, or a relay that could not be reached. */
export class RelayError extends Error {
  constructor(kind, message) {
    super(message);
    this.name = 'RelayError';
    /** `not_connected`, `timeout`, `closed` or a relay error code such as `rate_limited`. */
    this.kind = kind;
  }
}

/** After `ice_rate_limited`, ask for ICE servers again this much later. */
const ICE_RETRY_MS = 60_000;

/**
 * Keeps a connection to one of `urls` (tried in turn). Events: `connected`,
 * `disconnected` (`detail.reason`), `deliver` (`detail.from` raw key,
 * `detail.data` bytes), `replaced` (another tab took this key: no more
 * reconnecting until retryNow()). After each connect it asks the relay for
 * its ICE servers, and again three quarters into their lifetime; read them
 * with `iceServers()`.
 */
export class RelayClient extends EventTarget {
  constructor(urls, identity, options = {}) {
    super();
    if (!urls.length) throw new Error('no relay to connect to');
    this.urls = urls;
    this.identity = identity;
    this.options = {
      pingIntervalMs: 5_000,
      deadAfterMs: 15_000,
      connectTimeoutMs: 10_000,
      requestTimeoutMs: 10_000,
      ...options,
    };
    this.backoff = new Backoff(options.backoff);
    this.attempt = 0;
    this.socket = null;
    this.ready = false;
    this.stopped = true;
    this.nextId = 1;
    this.pending = new Map();
    this.timers = new Set();
    this.ice = { servers: [], expiresAt: 0 };
  }

  /** The relay's STUN/TURN servers (RTCIceServer objects) while their credentials hold. */
  iceServers() {
    return Date.now() < this.ice.expiresAt ? this.ice.servers : [];
  }

  /** Whether authenticated with a relay now. */
  get connected() {
    return this.ready;
  }

  /** The relay URL in use (or being tried). */
  get url() {
    return this.urls[this.attempt % this.urls.length];
  }

  /** Starts connecting; reconnects by itself until stop(). */
  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  /** Closes the connection and stops reconnecting. */
  stop() {
    this.stopped = true;
    this.clearTimers();
    if (this.socket) this.socket.close(1000, 'bye');
  }

  /** Reconnects now if waiting to (the network came back, or the person came back to this tab). */
  retryNow() {
    if (this.stopped || this.socket) return;
    this.clearTimers();
    this.connect();
  }

  /** Sends `data` (bytes) to the peer with raw key `to`. Resolves to `delivered` or `offline`. */
  send(to, data) {
    if (!this.ready) {
      return Promise.reject(new RelayError('not_connected', 'not connected to the relay'));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RelayError('timeout', 'the relay did not answer'));
      }, this.options.requestTimeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.socket.send(JSON.stringify({ t: 'send', id, to: b64(to), data: b64(data) }));
    });
  }

  connect() {
    const url = this.url;
    let socket;
    try {
      socket = new WebSocket(url);
    } catch (e) {
      this.scheduleReconnect(`cannot open ${url}: ${e.message}`);
      return;
    }
    this.socket = socket;
    let lastHeard = Date.now();
    let reason = 'the relay closed the connection';
    let parked = false;
    const connectTimer = this.after(this.options.connectTimeoutMs, () => {
      reason = 'the relay did not answer in time';
      socket.close();
    });
    let pinger = null;
    let iceTimer = null;
    const askIce = (afterMs) => {
      clearTimeout(iceTimer);
      iceTimer = setTimeout(() => {
        if (this.socket === socket && this.ready) socket.send('{"t":"ice"}');
      }, afterMs);
    };

    socket.onmessage = async (event) => {
      lastHeard = Date.now();
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      switch (frame.t) {
        case 'challenge': {
          const signature = await this.identity.sign(relayAuthMessage(fromB64(frame.nonce)));
          socket.send(JSON.stringify({ t: 'auth', key: this.identity.peerKey, sig: b64(signature) }));
          break;
        }
        case 'ready':
          this.clearTimer(connectTimer);
          this.ready = true;
          this.backoff.reset();
          pinger = setInterval(() => {
            if (Date.now() - lastHeard > this.options.deadAfterMs) {
              reason = 'the relay stopped answering';
              socket.close();
            } else {
              socket.send('{"t":"ping"}');
            }
          }, this.options.pingIntervalMs);
          socket.send('{"t":"ice"}');
          this.dispatchEvent(new CustomEvent('connected', { detail: { url } }));
          break;
        case 'ice_servers': {
          const lifeMs = Math.max(0, Number(frame.expires_in) || 0) * 1000;
          this.ice = { servers: Array.isArray(frame.servers) ? frame.servers : [], expiresAt: Date.now() + lifeMs };
          askIce(Math.max(1_000, (lifeMs * 3) / 4));
          break;
        }
        case 'sent':
        case 'offline':
          this.settle(frame.id, (p) => p.resolve(frame.t === 'sent' ? 'delivered' : 'offline'));
          break;
        case 'deliver':
          try {
            this.dispatchEvent(
              new CustomEvent('deliver', { detail: { from: fromB64(frame.from), data: fromB64(frame.data) } }),
            );
          } catch {
            // Not base64url: nothing to deliver.
          }
          break;
        case 'error':
          if (frame.id !== undefined && this.pending.has(frame.id)) {
            this.settle(frame.id, (p) => p.reject(new RelayError(frame.code, frame.message)));
          } else if (frame.code === 'ice_rate_limited') {
            askIce(ICE_RETRY_MS);
          } else {
            reason = `relay: ${frame.message}`;
            if (frame.code === 'replaced') {
              // Another tab took this key. Taking it back by itself would make the
              // two tabs evict each other forever: wait for retryNow() instead.
              parked = true;
              this.dispatchEvent(new CustomEvent('replaced'));
            }
          }
          break;
        default:
          break; // pong and frames from newer relays
      }
    };
    socket.onerror = () => {
      reason = `cannot reach the relay at ${url}`;
    };
    socket.onclose = () => {
      this.clearTimer(connectTimer);
      clearInterval(pinger);
      clearTimeout(iceTimer);
      const wasReady = this.ready;
      this.ready = false;
      this.socket = null;
      for (const id of [...this.pending.keys()]) {
        this.settle(id, (p) => p.reject(new RelayError('closed', 'the relay connection dropped')));
      }
      if (wasReady) this.dispatchEvent(new CustomEvent('disconnected', { detail: { reason } }));
      else this.attempt += 1; // try the next relay in the list
      if (!parked) this.scheduleReconnect(reason);
    };
  }

  scheduleReconnect(reason) {
    if (this.stopped) return;
    const delay = this.backoff.next();
    this.dispatchEvent(new CustomEvent('retrying', { detail: { reason, delayMs: delay } }));
    this.after(delay, () => this.connect());
  }

  settle(id, action) {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    action(p);
  }

  after(ms, fn) {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  clearTimer(timer) {
    clearTimeout(timer);
    this.timers.delete(timer);
  }

  clearTimers() {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
