// Hearth viewer: the share transfer on one data channel, both ways at once —
// the browser's twin of the device's sans-IO state machine
// (src/share/session.rs). Shares the peer pushes are verified (signature,
// author, audience, caps, every chunk, the whole JPEG), kept through a store
// (share-store.js) and acknowledged; a cut transfer resumes with the chunks
// already held. Shares this side pushes go one at a time: offer, the chunks
// the peer lacks (with the channel's backpressure), then its ack or refusal.

import {
  LIMITS, ShareError, chunkCount, chunkOk, decodeChunk, encodeChunk, isChunkFrame, jpegOk, shareId, verifyManifest,
} from './share-format.js';

/** How long to wait for the peer's answer to an offer, or for its ack once every chunk is sent. */
export const RESPONSE_TIMEOUT_MS = 30_000;

/** What the peer may push to this side: by default everything its author signed for us. */
export const ACCEPT_ALL = Object.freeze({ snapshots: true, photosAndThoughts: true });

/**
 * Why one of our shares was not delivered; `kind` is `refused` or `busy` (see
 * `code` and `reason`), `no_answer` or `closed`.
 */
export class SendError extends Error {
  constructor(kind, message, reason = '', code = '') {
    super(message);
    this.name = 'SendError';
    this.kind = kind;
    /** The peer's words, for `refused` and `busy`. */
    this.reason = reason;
    /** The peer's machine-readable reason (`not_allowed`, `inbox_full`, …), if it sent one. */
    this.code = code;
  }
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const FIELDS = {
  share_offer: ['manifest'],
  share_have: ['id', 'have'],
  share_ack: ['id'],
  share_refused: ['id', 'reason', 'retry', 'code'],
  share_cancel: ['id'],
};

// A share control message, as strictly as the device's serde reads one.
function parseControl(value) {
  const fields = FIELDS[value.type];
  if (!fields) throw new ShareError('malformed', `unknown message type \`${value.type}\``);
  for (const key of Object.keys(value)) {
    if (key !== 'type' && !fields.includes(key)) throw new ShareError('malformed', `unknown field \`${key}\``);
  }
  const ok = {
    share_offer: () => isObject(value.manifest) && typeof value.manifest.body === 'string'
      && typeof value.manifest.sig === 'string' && Object.keys(value.manifest).length === 2,
    share_have: () => typeof value.id === 'string' && Array.isArray(value.have)
      && value.have.every((i) => Number.isInteger(i) && i >= 0 && i <= 0xffffffff),
    share_ack: () => typeof value.id === 'string',
    share_refused: () => typeof value.id === 'string' && typeof value.reason === 'string'
      && (value.retry === undefined || typeof value.retry === 'boolean')
      && (value.code === undefined || typeof value.code === 'string'),
    share_cancel: () => typeof value.id === 'string',
  }[value.type]();
  if (!ok) throw new ShareError('malformed', `a ${value.type} of the wrong shape`);
  return value;
}

/**
 * The share transfer with one peer. `me` and `peer` are keys as text;
 * `store` keeps what arrives (share-store.js); `sendText(text)` and
 * `sendBytes(bytes)` send on the data channel and resolve once it took the
 * message (waiting while its buffer is full). Events: `share` (`detail` is
 * the stored record) when a share arrived whole, and `refused` (`detail.id`,
 * `detail.error`) when this side refused or dropped something.
 */
export class ShareLink extends EventTarget {
  constructor({ me, peer, store, sendText, sendBytes, rules = ACCEPT_ALL, limits = LIMITS,
    responseTimeoutMs = RESPONSE_TIMEOUT_MS }) {
    super();
    Object.assign(this, { me, peer, store, sendText, sendBytes, rules, limits, responseTimeoutMs });
    /** Our shares waiting for their turn: `{ share, jpeg, resolve, reject }`. */
    this.queue = [];
    /** Our share in flight, if any (with its `timer`). */
    this.current = null;
    /** The peer's shares arriving: id → `{ share, held (Set of indices), at (last activity) }`. */
    this.incoming = new Map();
    // What the peer sends is handled in order, one message after another.
    this.work = Promise.resolve();
    this.closedReason = null;
  }

  /** Whether a share is moving either way: ours queued or in flight, or one of the peer's arriving. */
  get busy() {
    const now = Date.now();
    const arriving = [...this.incoming.values()].some((entry) => now - entry.at < this.responseTimeoutMs);
    return this.current !== null || this.queue.length > 0 || arriving;
  }

  /**
   * A text message from the peer. Returns false when it is not a share
   * message, so other protocols can share the channel.
   */
  handleText(text) {
    let value;
    try {
      value = JSON.parse(text);
    } catch (e) {
      if (!text.includes('"share_')) return false;
      this.enqueue(() => this.refuse('', new ShareError('malformed', e.message)));
      return true;
    }
    if (!isObject(value) || typeof value.type !== 'string' || !value.type.startsWith('share_')) return false;
    let control;
    try {
      control = parseControl(value);
    } catch (e) {
      this.enqueue(() => this.refuse('', e));
      return true;
    }
    this.enqueue(() => this.handleControl(control));
    return true;
  }

  /** A binary message from the peer. Returns false when it is not a chunk frame. */
  handleBinary(data) {
    if (!isChunkFrame(data)) return false;
    const frame = new Uint8Array(data);
    this.enqueue(() => this.handleChunk(frame));
    return true;
  }

  /**
   * Pushes one of our shares (`{ id, body, manifest }` from signShare, with
   * its JPEG bytes or null). Resolves once the peer acknowledged it; rejects
   * with a SendError when it refuses, stops answering, or the link closes.
   */
  send(share, jpeg) {
    if (this.closedReason) return Promise.reject(new SendError('closed', `the session has ended: ${this.closedReason}`));
    if (!share.body.audience.includes(this.peer)) {
      return Promise.reject(new SendError('refused', 'the peer is not in this share\'s audience'));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ share, jpeg, resolve, reject, timer: null });
      this.nextOffer();
    });
  }

  /** Ends the link: our pending shares fail with `closed`; half-received ones stay in the store. */
  close(reason) {
    if (this.closedReason) return;
    this.closedReason = reason;
    const pending = [this.current, ...this.queue].filter(Boolean);
    this.current = null;
    this.queue = [];
    for (const outgoing of pending) {
      clearTimeout(outgoing.timer);
      outgoing.reject(new SendError('closed', `the session has ended: ${reason}`));
    }
    this.incoming.clear();
  }

  // ---- The peer's shares.

  enqueue(task) {
    this.work = this.work.then(task).catch((error) => this.report('', error));
  }

  async handleControl(control) {
    switch (control.type) {
      case 'share_offer':
        return this.offered(control.manifest);
      case 'share_have':
        return this.peerHas(control.id, new Set(control.have));
      case 'share_ack':
        return this.answered(control.id, null);
      case 'share_refused':
        return this.answered(control.id, control.reason, control.retry === true, control.code || '');
      case 'share_cancel':
        return this.cancelled(control.id);
      default:
        return undefined;
    }
  }

  async offered(manifest) {
    let share;
    try {
      share = await verifyManifest(manifest, this.limits);
    } catch (e) {
      return this.refuse(await shareId(manifest.body), e);
    }
    try {
      this.mayReceive(share);
    } catch (e) {
      return this.refuse(share.id, e);
    }
    if (await this.store.isStored(share.id)) {
      // Delivered before (the ack was lost, or it was sent again): stored once, acknowledged again.
      return this.sendControl({ type: 'share_ack', id: share.id });
    }
    const held = new Set(await this.store.chunksHeld(share.id));
    this.incoming.set(share.id, { share, held, at: Date.now() });
    await this.sendControl({ type: 'share_have', id: share.id, have: [...held] });
    return this.tryFinish(share.id);
  }

  mayReceive(share) {
    const { body } = share;
    if (body.author !== this.peer) {
      throw new ShareError('not_allowed', 'a share is accepted only from its author, never passed on');
    }
    if (!body.audience.includes(this.me)) {
      throw new ShareError('not_allowed', "this browser is not in the share's audience");
    }
    const allowed = body.kind === 'snapshot' ? this.rules.snapshots : this.rules.photosAndThoughts;
    if (!allowed) throw new ShareError('not_allowed', `this browser does not accept a ${body.kind} from this contact`);
  }

  // The sender withdrew a share it offered (this browser lost its permission):
  // no more of it will come, so its kept chunks go. Ignored for a share not
  // being received.
  async cancelled(id) {
    if (!this.incoming.delete(id)) return;
    try {
      await this.store.dropChunks(id);
    } catch (e) {
      this.report(id, new ShareError('storage', e.message));
    }
  }

  async handleChunk(frame) {
    let chunk;
    try {
      chunk = decodeChunk(frame);
    } catch (e) {
      return this.report('', e);
    }
    const { id, index, data } = chunk;
    const entry = this.incoming.get(id);
    if (!entry) return this.report(id, new ShareError('malformed', 'a chunk of a share that was not offered'));
    if (!(await chunkOk(entry.share, index, data))) {
      this.incoming.delete(id);
      return this.refuse(id, new ShareError('corrupt', `chunk ${index} does not match its hash`));
    }
    try {
      await this.store.putChunk(id, index, data);
    } catch (e) {
      // Not the peer's fault: no answer, so it offers the share again later.
      this.incoming.delete(id);
      return this.report(id, new ShareError('storage', e.message));
    }
    entry.held.add(index);
    entry.at = Date.now();
    return this.tryFinish(id);
  }

  async tryFinish(id) {
    const entry = this.incoming.get(id);
    if (!entry || entry.held.size < chunkCount(entry.share)) return;
    this.incoming.delete(id);
    const { share } = entry;
    let kept;
    try {
      let jpeg = null;
      if (share.body.jpeg) {
        jpeg = await this.store.assemble(share);
        if (!(await jpegOk(share, jpeg))) throw new ShareError('corrupt', 'the whole JPEG does not match its hash');
      }
      kept = await this.store.store(share, jpeg);
    } catch (e) {
      await this.refuse(id, e instanceof ShareError ? e : new ShareError('storage', e.message));
      return;
    }
    await this.sendControl({ type: 'share_ack', id });
    this.dispatchEvent(new CustomEvent('share', { detail: kept }));
  }

  async refuse(id, error) {
    this.report(id, error);
    await this.sendControl({ type: 'share_refused', id, reason: error.message, code: error.kind });
  }

  report(id, error) {
    console.warn('hearth: refused a share:', error.message);
    this.dispatchEvent(new CustomEvent('refused', { detail: { id, error } }));
  }

  sendControl(message) {
    return this.sendText(JSON.stringify(message));
  }

  // ---- Our shares.

  nextOffer() {
    if (this.current || this.closedReason) return;
    const next = this.queue.shift();
    if (!next) return;
    this.current = next;
    this.arm(next);
    this.sendControl({ type: 'share_offer', manifest: next.share.manifest }).catch((e) => this.failed(next, e));
  }

  // Waits for the peer's next word on `outgoing`, for at most the response timeout.
  arm(outgoing) {
    clearTimeout(outgoing.timer);
    outgoing.timer = setTimeout(() => {
      if (this.current !== outgoing) return;
      this.current = null;
      outgoing.reject(new SendError('no_answer', 'the contact did not answer; the share was not delivered'));
      this.nextOffer();
    }, this.responseTimeoutMs);
  }

  peerHas(id, have) {
    const outgoing = this.current;
    if (!outgoing || outgoing.share.id !== id) return;
    // Sent beside the incoming work, so the peer's own offers are not held up meanwhile.
    this.sendChunks(outgoing, have);
  }

  async sendChunks(outgoing, have) {
    clearTimeout(outgoing.timer);
    const { share, jpeg } = outgoing;
    if (jpeg && share.body.jpeg) {
      const size = share.body.jpeg.chunk_size;
      try {
        for (let index = 0; index * size < jpeg.length; index++) {
          if (this.current !== outgoing) return;
          if (have.has(index)) continue;
          await this.sendBytes(encodeChunk(share.id, index, jpeg.subarray(index * size, (index + 1) * size)));
        }
      } catch (e) {
        this.failed(outgoing, e);
        return;
      }
    }
    if (this.current === outgoing) this.arm(outgoing);
  }

  // `retry`: refused only for now (the receiver's inbox is full), so the
  // same share may be sent again later.
  answered(id, refusal, retry = false, code = '') {
    const outgoing = this.current;
    if (!outgoing || outgoing.share.id !== id) return;
    clearTimeout(outgoing.timer);
    this.current = null;
    if (refusal === null) outgoing.resolve({ id });
    else {
      const [kind, words] = retry ? ['busy', 'refused the share for now'] : ['refused', 'refused the share'];
      outgoing.reject(new SendError(kind, `the contact ${words}: ${refusal}`, refusal, code));
    }
    this.nextOffer();
  }

  failed(outgoing, error) {
    if (this.current !== outgoing) return;
    clearTimeout(outgoing.timer);
    this.current = null;
    outgoing.reject(new SendError('closed', `the share could not be sent: ${error.message}`));
    this.nextOffer();
  }
}
