// Hearth viewer: the original network's browser API over Hearth signalling,
// the JavaScript twin of src/rtc. `RTC.PeerConnection` is a link to one
// contact (addStream, fetchStream, send, sendJSON); `RTC.MediaStream`,
// `VideoStream`, `AudioStream` and `AudioVideoStream` wrap local and remote
// media. Modernised only where browsers require it: streams go to elements
// through `srcObject`, and every call returns a promise beside its callbacks.
//
//   import RTC from './hearth-rtc.js';
//   const connection = new RTC.PeerConnection(node, grandma);
//   connection.fetchStream((stream) => stream.attachTo(videoElement));
//   connection.send('Hello World!');
//   connection.sendJSON({ foo: 'bar' });
//   connection.onmessage = (message) => console.log(message.data);
//   connection.onshare = (share) => show(share);          // a snapshot, photo or thought arrived
//   connection.sendShare({ text: 'Hello!' });             // resolves once the contact kept it
//   connection.onaccess = (access) => {                   // privacy on/off, permissions changed
//     if (connection.allowsMore(access)) callAgain();     // more than this session carries
//   };
//   connection.addStream(await RTC.VideoStream.open());   // this browser's camera, to the contact
//   connection.onpicture = (picture) => say(picture.shown ? 'on their screen' : picture.reason);

import { b64, randomBytes } from './crypto.js';
import { OfflineError } from './node.js';
import { limitSentVideo, parsePicture } from './picture.js';
import { LIMITS, signShare } from './share-format.js';
import { ShareLink } from './share-link.js';
import { shareStore } from './share-store.js';

/**
 * What this version can do beyond live media. `sharing`: receiving shares
 * (docs/protocol.md, "Shares") and sending photos and thoughts.
 */
export const features = Object.freeze({ sharing: true });

/** Why a stream or connection failed; `kind` says what to tell the person. */
export class RtcError extends Error {
  constructor(kind, message, extra = {}) {
    super(message);
    this.name = 'RtcError';
    /**
     * `refused` (see `reason` and `code` for a refused share: `malformed`,
     * `bad_signature`, `too_large`, `corrupt`, `undecodable`, `storage`; `code` for a refused or
     * ended session: `not_approved`, `access_withdrawn`, `busy`,
     * `unavailable`, `shutting_down`, `hung_up`, `failed`, `no_path`), `no_path` (no
     * network path to the contact: ICE found no candidate pair that works; the
     * message says what helps, and `code` is `no_path`), `busy` (a share refused
     * only for now: the device's inbox is full; send it again later), `not_allowed` (see
     * `denied`), `no_answer`, `offline`, `closed`, `failed`, `too_late`,
     * `already_fetched`, `no_camera`, `no_microphone`, `not_supported` or
     * `invalid` (a share that cannot be made: empty, too large, not a JPEG).
     */
    this.kind = kind;
    Object.assign(this, extra);
  }
}

// Resolves the promise's value into the callbacks too, when they are given.
function withCallbacks(promise, onSuccess, onError) {
  if (onSuccess || onError) {
    promise.then(onSuccess, onError || ((e) => console.error('hearth:', e)));
  }
  return promise;
}

/** A stream of live video and/or audio: local (from this device's camera) or from a contact. */
export class MediaStream {
  constructor(native, { remote = false, granted = null } = {}) {
    this.native = native;
    this.remote = remote;
    /** For a contact's stream: what its owner granted (`{ video, audio, denied }`). */
    this.granted = granted;
  }

  /** The browser's own MediaStream, e.g. for `element.srcObject`. */
  get stream() {
    return this.native;
  }

  /** Whether the stream carries video. */
  get hasVideo() {
    return this.native.getVideoTracks().length > 0;
  }

  /** Whether the stream carries audio. */
  get hasAudio() {
    return this.native.getAudioTracks().length > 0;
  }

  /** Shows (and plays) the stream in a `<video>` or `<audio>` element; returns the element. */
  attachTo(element) {
    element.srcObject = this.native;
    return element;
  }

  /** Stops a local stream's camera and microphone. */
  stop() {
    if (!this.remote) this.native.getTracks().forEach((t) => t.stop());
  }

  /** Opens this browser's camera and/or microphone (asks the person once). */
  static open({ video, audio }, onOpen, onError) {
    const opening = (async () => {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        throw new RtcError('not_supported', 'this browser cannot open a camera here (it needs HTTPS)');
      }
      try {
        return new MediaStream(await navigator.mediaDevices.getUserMedia({ video, audio }));
      } catch (e) {
        const kind = video ? 'no_camera' : 'no_microphone';
        throw new RtcError(kind, `cannot open the ${video ? 'camera' : 'microphone'}: ${e.message}`);
      }
    })();
    return withCallbacks(opening, onOpen, onError);
  }
}

/** Opens a video-only MediaStream on the camera. */
export const VideoStream = {
  open: (onOpen, onError) => MediaStream.open({ video: true, audio: false }, onOpen, onError),
};

/** Opens an audio-only MediaStream on the microphone. */
export const AudioStream = {
  open: (onOpen, onError) => MediaStream.open({ video: false, audio: true }, onOpen, onError),
};

/** Opens a MediaStream with both camera and microphone. */
export const AudioVideoStream = {
  open: (onOpen, onError) => MediaStream.open({ video: true, audio: true }, onOpen, onError),
};

/** A data-channel message from a contact. */
export class Message {
  constructor(data) {
    /** Text, or an ArrayBuffer for bytes. */
    this.data = data;
  }

  /** The message as text (bytes are decoded as UTF-8). */
  get text() {
    return typeof this.data === 'string' ? this.data : new TextDecoder().decode(this.data);
  }

  /** The message parsed as JSON. */
  json() {
    return JSON.parse(this.text);
  }
}

const DEFAULTS = {
  /** This side's own STUN/TURN servers, used after those the relay hands out. */
  iceServers: [],
  /** Relay (TURN) candidates only: the contact never learns this browser's address. */
  relayOnly: false,
  answerTimeoutMs: 15_000,
  // With no candidate pair by then there is no network path: said within 15 s of the offer.
  connectTimeoutMs: 10_000,
  gatherTimeoutMs: 2_000,
};

/** Whether `iceServers` (RTCIceServer objects) include a TURN relay. */
function hasTurn(iceServers) {
  return (iceServers || []).some((server) =>
    [].concat(server.urls || []).some((url) => /^turns?:/.test(url)),
  );
}

/** Why there is no network path, and what helps (the words the device uses too). */
export function noPathWords(turn) {
  return turn
    ? 'not even through the TURN relay; check that the TURN server can be reached from both sides and accepts its credentials'
    : 'both sides are behind routers that need a TURN relay to connect, and none is configured';
}

/**
 * The network path of a connected RTCPeerConnection, from getStats: the
 * selected candidate pair's ends (`host`, `srflx`, `prflx`, `relay`) and
 * `kind`: `relay` if either end is a relay, `srflx` if either is reflexive,
 * else `host`. Null while no pair is selected.
 */
export async function selectedPath(pc) {
  const report = await pc.getStats();
  let pairId = null;
  report.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
  });
  if (!pairId) {
    report.forEach((s) => {
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pairId = s.id;
    });
  }
  const pair = pairId && report.get(pairId);
  if (!pair) return null;
  const local = report.get(pair.localCandidateId)?.candidateType;
  const remote = report.get(pair.remoteCandidateId)?.candidateType;
  if (!local || !remote) return null;
  const ends = [local, remote];
  const kind = ends.includes('relay')
    ? 'relay'
    : ends.includes('srflx') || ends.includes('prflx')
      ? 'srflx'
      : 'host';
  return { local, remote, kind };
}
/** `send` waits while this much is queued on the data channel. */
const SEND_HIGH_WATER = 256 * 1024;
// ICE restart timing: see src/api/recovery.rs, which keeps the same rules.
const RECOVERY = Object.freeze({ retryFirstMs: 1000, retryMaxMs: 2000, minGapMs: 1000, giveUpMs: 60000 });

function gathered(pc, limitMs) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== 'complete') return;
      pc.removeEventListener('icegatheringstatechange', done);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      pc.removeEventListener('icegatheringstatechange', done);
      resolve();
    }, limitMs);
    pc.addEventListener('icegatheringstatechange', done);
  });
}

/**
 * A connection with one contact (a parsed contact code) through `node` (a
 * HearthNode). Made lazily on first use, so `addStream` and `fetchStream`
 * can say first what the session carries. States: `new`, `connecting`,
 * `connected`, `interrupted` (recovering by itself), `closed`. Events:
 * `statechange`, `message` (`detail` is a Message), `share` (`detail` is a
 * received share, see `fetchShares`), `access` (`detail` is what the contact
 * may now send, see `access`), `picture` (`detail` says whether the video this
 * browser sends is on the contact's screen, see `picture`) and `close`
 * (`detail.reason`, `detail.code`); or set `onstatechange`,
 * `onmessage(message)`, `onshare(share)`, `onaccess(access)`,
 * `onpicture(picture)`, `onclose(reason, code)`.
 */
export class PeerConnection extends EventTarget {
  constructor(node, contact, options = {}) {
    super();
    this.node = node;
    this.contact = contact;
    this.options = { ...DEFAULTS, ...options };
    this.local = [];
    this.want = false;
    this.opening = null;
    this.fetched = false;
    this.pc = null;
    /** The ICE servers the connection uses: the relay's, then `options.iceServers`. */
    this.iceServers = [];
    this.channel = null;
    this.session = null;
    this.queue = null;
    this._state = 'new';
    this._granted = null;
    this.closedReason = null;
    /** Why the session ended, for programs (see RtcError's `code`). */
    this.closedCode = null;
    this._access = null;
    this._picture = null;
    this.link = null;
    this.onmessage = null;
    this.onshare = null;
    this.onstatechange = null;
    this.onclose = null;
    this.onaccess = null;
    this.onpicture = null;
    // Leaving the page ends the session at once, with a goodbye the device
    // hears (best effort: the page may be gone before it is sent; the
    // device then ends it when the contact stays off its relay).
    if (typeof window !== 'undefined') {
      window.addEventListener('pagehide', () => {
        if (this.session && !this.closedReason) this.close('the viewer left the page');
      }, { once: true });
    }
    /** Resolves with the reason once the session has ended. */
    this.closed = new Promise((resolve) => { this.resolveClosed = resolve; });
  }

  /** `new`, `connecting`, `connected`, `interrupted` or `closed`. */
  get state() {
    return this._state;
  }

  /** What the contact granted (`{ video, audio, denied }`), once connected. */
  get granted() {
    return this._granted;
  }

  /**
   * What the contact last said this session may receive now, or null until
   * it says something: `{ code, video, audio, denied, reason }`, `code` being
   * `privacy_on`, `privacy_off` or `permissions_changed` and `denied` naming
   * what is held back (`live_video`, `live_audio`, `privacy`). Sent by the
   * device on the data channel the moment it changes (docs/protocol.md).
   */
  get access() {
    return this._access;
  }

  /**
   * What the contact last said about the video this browser sends it (see
   * `addStream`), or null until it says something: `{ shown: true, width,
   * height }` while it is on the contact's screen (the video sent is kept
   * within that size), or `{ shown: false, code, reason }`, `code` being
   * `show_not_allowed` (its owner did not allow it), `privacy`,
   * `ended_by_owner` or `replaced`, and `reason` the words to show.
   */
  get picture() {
    return this._picture;
  }

  /**
   * Whether `access` allows more than this session carries: the device does
   * not add media to an open session, so call again to receive it.
   */
  allowsMore(access) {
    const carries = this._granted || { video: false, audio: false };
    return Boolean((access.video && !carries.video) || (access.audio && !carries.audio));
  }

  /** Shares a local stream with the contact. Must come before the connection is first used. */
  addStream(stream) {
    if (this.opening) throw new RtcError('too_late', 'addStream must be called before the connection is first used');
    this.local.push(stream);
  }

  /**
   * Asks for the contact's stream and resolves with it (a MediaStream). It
   * carries what the contact's owner allows; if that is nothing, it rejects
   * with kind `not_allowed` and `denied` naming what was not allowed.
   */
  fetchStream(onStream, onError) {
    const fetching = (async () => {
      if (this.opening && !this.want) {
        throw new RtcError('too_late', 'fetchStream must be called before the connection is first used');
      }
      this.want = true;
      await this.open();
      const granted = this._granted;
      if (!granted.video && !granted.audio) {
        throw new RtcError('not_allowed', `not allowed by the contact's owner: ${granted.denied.join(', ')}`, {
          denied: granted.denied,
        });
      }
      if (this.fetched) throw new RtcError('already_fetched', 'the remote stream was already fetched');
      this.fetched = true;
      const tracks = this.pc
        .getTransceivers()
        .map((t) => t.receiver.track)
        .filter((track) => (track.kind === 'video' ? granted.video : granted.audio));
      return new MediaStream(new globalThis.MediaStream(tracks), { remote: true, granted });
    })();
    return withCallbacks(fetching, onStream, onError);
  }

  /** Sends text on the data channel, waiting while its buffer is full. */
  send(text, onSent, onError) {
    return withCallbacks(this.sendRaw(String(text)), onSent, onError);
  }

  /** Sends a value as JSON text on the data channel. */
  sendJSON(value, onSent, onError) {
    return withCallbacks(this.sendRaw(JSON.stringify(value)), onSent, onError);
  }

  /** Sends bytes (ArrayBuffer or typed array) on the data channel. */
  sendBytes(bytes, onSent, onError) {
    return withCallbacks(this.sendRaw(bytes), onSent, onError);
  }

  /** Connects now, if not yet connected. */
  connect(onConnected, onError) {
    return withCallbacks(this.open().then(() => this), onConnected, onError);
  }

  /** Ends the session and tells the contact why. */
  async close(reason = 'closed by the viewer') {
    await this.end(reason, true, 'hung_up');
  }

  /**
   * The network path the media takes, from the selected candidate pair:
   * `{ local, remote, kind }`, `kind` being `host`, `srflx` or `relay`
   * (see `selectedPath`); null before the connection is up.
   */
  path() {
    return this.pc ? selectedPath(this.pc) : Promise.resolve(null);
  }

  /** The WebRTC statistics of the connection (an RTCStatsReport), e.g. frames decoded. */
  getStats() {
    return this.pc ? this.pc.getStats() : Promise.resolve(new Map());
  }

  // ---- Sharing (docs/protocol.md, "Shares").

  /**
   * The snapshots, photos and thoughts the contact sent this browser, newest
   * first, as kept in IndexedDB (no connection needed): each `{ id, kind,
   * text, createdAt, receivedAt, from, photo }`, `photo` a JPEG Blob or null.
   * New ones arrive as `share` events while connected.
   */
  fetchShares(onShares, onError) {
    return withCallbacks(shareStore.list(this.contact.key), onShares, onError);
  }

  /**
   * Sends the contact a photo and/or a short thought: `{ text, photo,
   * createdAt }`, `photo` the JPEG's bytes (Uint8Array, ArrayBuffer or Blob;
   * photo.js makes one from any picture). Signed with this browser's key,
   * for the contact alone. Resolves with `{ id }` once the contact verified
   * and kept it; rejects with `not_allowed` (its owner did not allow
   * `talk_back`), `refused` (`reason` says why), `no_answer`, `closed` or
   * `invalid`. Sending again with the same `createdAt` sends the same share:
   * a cut transfer resumes, and the contact keeps it once.
   */
  sendShare(share, onSent, onError) {
    const sending = (async () => {
      const { text = '', photo = null, createdAt = Date.now() } = share || {};
      const jpeg = photo ? await jpegBytes(photo) : null;
      if (!jpeg && !String(text).trim()) throw new RtcError('invalid', 'a share needs a photo or some text');
      if (jpeg && !(jpeg[0] === 0xff && jpeg[1] === 0xd8 && jpeg[2] === 0xff)) {
        throw new RtcError('invalid', 'the photo is not a JPEG');
      }
      let signed;
      try {
        signed = await signShare(this.node.identity, {
          kind: jpeg ? 'photo' : 'thought',
          text: String(text),
          jpeg,
          audience: [this.contact.key],
          createdAt,
        });
      } catch (e) {
        throw new RtcError('invalid', e.message);
      }
      await this.open();
      try {
        await this.link.send(signed, jpeg);
      } catch (e) {
        throw shareFailure(e, this.contact.name);
      }
      return { id: signed.id };
    })();
    return withCallbacks(sending, onSent, onError);
  }

  /** Whether a share is moving either way on this connection now. */
  get transferring() {
    return this.link !== null && this.link.busy;
  }

  // ---- Internals.

  async sendRaw(data) {
    await this.open();
    const channel = this.channel;
    if (channel.readyState === 'connecting') {
      await new Promise((resolve, reject) => {
        channel.addEventListener('open', resolve, { once: true });
        channel.addEventListener('close', () => reject(new RtcError('closed', 'the session has ended')), {
          once: true,
        });
      });
    }
    while (channel.readyState === 'open' && channel.bufferedAmount > SEND_HIGH_WATER) {
      await new Promise((resolve) => channel.addEventListener('bufferedamountlow', resolve, { once: true }));
    }
    if (channel.readyState !== 'open') throw new RtcError('closed', `the session has ended: ${this.closedReason}`);
    channel.send(data);
  }

  open() {
    if (this.closedReason) return Promise.reject(new RtcError('closed', `the session has ended: ${this.closedReason}`));
    if (!this.opening) {
      this.opening = this.call();
      this.opening.catch(() => {});
    }
    return this.opening;
  }

  setState(state) {
    if (this._state === state || this._state === 'closed') return;
    this._state = state;
    this.dispatchEvent(new CustomEvent('statechange', { detail: { state } }));
    if (this.onstatechange) this.onstatechange(state);
  }

  async call() {
    const { node, contact, options } = this;
    const want = this.want;
    this.setState('connecting');
    const relayed = typeof node.iceServers === 'function' ? node.iceServers() : [];
    // Kept: when no path is found, the words depend on whether a TURN relay was among them.
    this.iceServers = [...relayed, ...options.iceServers];
    const pc = new RTCPeerConnection({
      iceServers: this.iceServers,
      iceTransportPolicy: options.relayOnly ? 'relay' : 'all',
    });
    this.pc = pc;
    const tracks = this.local.flatMap((s) => s.native.getTracks());
    for (const kind of ['video', 'audio']) {
      const track = tracks.find((t) => t.kind === kind);
      if (track) pc.addTransceiver(track, { direction: want ? 'sendrecv' : 'sendonly' });
      else if (want) pc.addTransceiver(kind, { direction: 'recvonly' });
    }
    const channel = pc.createDataChannel('hearth');
    channel.binaryType = 'arraybuffer';
    channel.bufferedAmountLowThreshold = SEND_HIGH_WATER / 4;
    channel.onmessage = (event) => this.received(event.data);
    this.channel = channel;
    this.link = new ShareLink({
      me: node.peerKey,
      peer: contact.key,
      store: shareStore,
      sendText: (text) => this.sendRaw(text),
      sendBytes: (bytes) => this.sendRaw(bytes),
    });
    this.link.addEventListener('share', (event) => {
      this.dispatchEvent(new CustomEvent('share', { detail: event.detail }));
      if (this.onshare) this.onshare(event.detail);
    });

    const session = b64(randomBytes(9));
    this.session = session;
    const queue = node.openSession(contact, session);
    this.queue = queue;
    let sdpTaken = false;
    let trickled = [];
    pc.onicecandidate = (event) => {
      if (!sdpTaken || this.restarting) return; // in the offer's SDP
      const c = event.candidate;
      const signal = {
        type: 'candidate',
        session,
        candidate: c ? c.candidate : '',
        sdp_mid: c ? c.sdpMid : null,
        sdp_mline_index: c ? c.sdpMLineIndex : null,
      };
      if (trickled) trickled.push(signal);
      else node.sendTo(contact, signal).catch(() => {});
    };

    try {
      await pc.setLocalDescription();
      await gathered(pc, options.gatherTimeoutMs);
      sdpTaken = true;
      const offer = { type: 'offer', session, sdp: pc.localDescription.sdp, want_video: want, want_audio: want };
      try {
        await node.sendTo(contact, offer);
      } catch (e) {
        if (e instanceof OfflineError) throw new RtcError('offline', e.message);
        throw new RtcError('offline', `cannot reach the relay: ${e.message}`);
      }
      for (const signal of trickled) node.sendTo(contact, signal).catch(() => {});
      trickled = null;

      const answer = await this.awaitAnswer(queue);
      // The DTLS fingerprint every restart answer must carry (docs/protocol.md, "ICE restart").
      this.answerFingerprint = sdpFingerprint(answer.sdp);
      await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
      for (const c of answer.early) await this.addCandidate(c);
      this._granted = { video: answer.video && want, audio: answer.audio && want, denied: answer.denied || [] };
      // From here the contact may trickle candidates or hang up while ICE and DTLS connect.
      this.followSignals(queue);
      await this.connected(pc);
    } catch (e) {
      const error = e instanceof RtcError ? e : new RtcError('failed', e.message);
      await this.end(error.message, error.kind !== 'refused' && error.kind !== 'offline', error.code || 'failed');
      throw error;
    }
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'connected') {
        this.pathBack();
        this.setState('connected');
      } else if (pc.connectionState === 'disconnected' || pc.connectionState === 'failed') {
        this.setState('interrupted');
        this.pathLost();
      } else if (pc.connectionState === 'closed') this.end('the connection closed', false, 'hung_up');
    };
    channel.onclose = () => this.end('the contact closed the session', false, 'hung_up');
    this.setState('connected');
    return this;
  }

  async awaitAnswer(queue) {
    const deadline = Date.now() + this.options.answerTimeoutMs;
    const early = [];
    for (;;) {
      const signal = await queue.next(Math.max(0, deadline - Date.now()));
      if (!signal) {
        if (queue.closed) throw new RtcError('closed', 'the session was closed');
        throw new RtcError('no_answer', `${this.contact.name || 'the contact'} did not answer; is it online?`);
      }
      switch (signal.type) {
        case 'answer':
          return { ...signal, early };
        case 'refused':
          throw new RtcError('refused', signal.reason, { code: signal.code || 'unknown' });
        case 'bye':
          throw new RtcError('refused', signal.reason || 'the contact hung up', { code: signal.code || 'unknown' });
        case 'candidate':
          early.push(signal);
          break;
        default:
          break;
      }
    }
  }

  // Resolves once ICE and DTLS are up. Rejects with `no_path` when ICE found
  // no candidate pair that works (it failed, or found none in time), and says
  // in words what helps.
  connected(pc) {
    return new Promise((resolve, reject) => {
      let iceFound = false;
      const noPath = () => {
        const words = noPathWords(hasTurn(this.iceServers));
        const who = this.contact.name || 'the contact';
        return new RtcError('no_path', `No network path to ${who}: ${words}.`, { code: 'no_path' });
      };
      const iceCheck = () => {
        if (pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed') iceFound = true;
      };
      const check = () => {
        iceCheck();
        const s = pc.connectionState;
        if (s === 'connected') done(resolve);
        else if (s === 'failed' && !iceFound) done(() => reject(noPath()));
        else if (s === 'failed' || s === 'closed') done(() => reject(new RtcError('failed', 'the connection failed')));
      };
      const done = (action) => {
        clearTimeout(timer);
        pc.removeEventListener('connectionstatechange', check);
        pc.removeEventListener('iceconnectionstatechange', iceCheck);
        action();
      };
      const timer = setTimeout(
        () =>
          done(() =>
            reject(iceFound ? new RtcError('failed', 'the connection did not come up in time') : noPath()),
          ),
        this.options.connectTimeoutMs,
      );
      pc.addEventListener('connectionstatechange', check);
      pc.addEventListener('iceconnectionstatechange', iceCheck);
      // Ended meanwhile (the contact said bye): closing a connection fires no state change.
      this.closed.then((reason) =>
        done(() =>
          reject(this.closedCode === 'no_path' ? noPath() : new RtcError('refused', reason, { code: this.closedCode })),
        ),
      );
      check();
    });
  }

  async addCandidate(signal) {
    if (!signal.candidate) return;
    try {
      await this.pc.addIceCandidate({
        candidate: signal.candidate,
        sdpMid: signal.sdp_mid ?? null,
        sdpMLineIndex: signal.sdp_mline_index ?? null,
      });
    } catch (e) {
      console.debug('hearth: ignored a remote candidate:', e.message);
    }
  }

  async followSignals(queue) {
    for (;;) {
      const signal = await queue.next();
      if (!signal) return;
      if (signal.type === 'bye') {
        await this.end(signal.reason || 'the contact hung up', false, signal.code || 'unknown');
        return;
      }
      if (signal.type === 'candidate') await this.addCandidate(signal);
      else if (signal.type === 'restart_answer') await this.restartAnswered(signal.sdp);
      else if (signal.type === 'restart_request') this.scheduleRestart(0);
    }
  }

  // ---- ICE restart (docs/protocol.md, "ICE restart"; the same rules as src/api/recovery.rs).
  // This page made the offer, so it makes every restart offer; the device asks with
  // `restart_request`. The first attempt goes out at once, the next after 1 s, then every
  // 2 s while the path is down, never two within a second; the session ends after 60 s.

  pathLost() {
    if (this.closedReason) return;
    if (!this.lostSince) {
      this.lostSince = Date.now();
      this.giveUpTimer = setTimeout(
        () => this.end('the connection was lost and did not come back', true, 'failed'),
        RECOVERY.giveUpMs,
      );
    }
    this.scheduleRestart(0);
  }

  pathBack() {
    this.lostSince = null;
    this.restartAttempts = 0;
    clearTimeout(this.giveUpTimer);
    clearTimeout(this.restartTimer);
    this.giveUpTimer = null;
    this.restartTimer = null;
  }

  scheduleRestart(delayMs) {
    if (this.restartTimer || this.closedReason) return; // one is due already
    const gap = this.lastRestart ? this.lastRestart + RECOVERY.minGapMs - Date.now() : 0;
    this.restartTimer = setTimeout(
      () => {
        this.restartTimer = null;
        this.restartIce();
      },
      Math.max(delayMs, gap, 0),
    );
  }

  async restartIce() {
    if (this.closedReason || this.restarting) return;
    const pc = this.pc;
    this.lastRestart = Date.now();
    this.restartAttempts = (this.restartAttempts || 0) + 1;
    if (this.lostSince) {
      this.scheduleRestart(this.restartAttempts === 1 ? RECOVERY.retryFirstMs : RECOVERY.retryMaxMs);
    }
    this.restarting = true;
    try {
      await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
      await gathered(pc, this.options.gatherTimeoutMs);
    } catch (e) {
      console.debug('hearth: could not restart ICE:', e.message);
      return;
    } finally {
      this.restarting = false;
    }
    try {
      await this.node.sendTo(this.contact, { type: 'restart_offer', session: this.session, sdp: pc.localDescription.sdp });
    } catch (e) {
      console.debug('hearth: the restart offer was not sent; trying again:', e.message);
    }
  }

  async restartAnswered(sdp) {
    if (sdpFingerprint(sdp) !== this.answerFingerprint) {
      console.warn('hearth: a restart answer carried another DTLS fingerprint; ending the session');
      await this.end('an ICE restart carried a different DTLS fingerprint; someone may be in the middle', true, 'failed');
      return;
    }
    if (this.pc.signalingState !== 'have-local-offer') return; // a late answer to an older restart
    try {
      await this.pc.setRemoteDescription({ type: 'answer', sdp });
    } catch (e) {
      console.debug('hearth: could not apply a restart answer:', e.message);
    }
  }

  received(data) {
    // Access changes, picture news and share messages are handled here; everything else goes to `message`.
    if (typeof data === 'string' && (this.accessChanged(data) || this.pictureChanged(data))) return;
    if (this.link && (typeof data === 'string' ? this.link.handleText(data) : this.link.handleBinary(data))) return;
    const message = new Message(data);
    this.dispatchEvent(new CustomEvent('message', { detail: message }));
    if (this.onmessage) this.onmessage(message);
  }

  // An access message (docs/protocol.md, "Access changes"): kept and announced.
  accessChanged(text) {
    if (!text.includes('"access"')) return false;
    let value;
    try {
      value = JSON.parse(text);
    } catch {
      return false;
    }
    if (!value || value.type !== 'access') return false;
    if (typeof value.video !== 'boolean' || typeof value.audio !== 'boolean' || typeof value.code !== 'string') {
      console.warn('hearth: ignored a malformed access message');
      return true;
    }
    const access = {
      code: value.code,
      video: value.video,
      audio: value.audio,
      denied: Array.isArray(value.denied) ? value.denied.filter((d) => typeof d === 'string') : [],
      reason: typeof value.reason === 'string' ? value.reason : '',
    };
    this._access = access;
    this.dispatchEvent(new CustomEvent('access', { detail: access }));
    if (this.onaccess) this.onaccess(access);
    return true;
  }

  // A picture message: the video this browser sends is (or is not) on the
  // contact's screen. Kept and announced; the size asked for is applied first.
  pictureChanged(text) {
    const picture = parsePicture(text);
    if (!picture) return false;
    if (picture.malformed) {
      console.warn('hearth: ignored a malformed picture message');
      return true;
    }
    this._picture = picture;
    const announce = () => {
      if (this._picture !== picture) return; // a newer one came meanwhile
      this.dispatchEvent(new CustomEvent('picture', { detail: picture }));
      if (this.onpicture) this.onpicture(picture);
    };
    if (picture.shown) limitSentVideo(this.pc, picture.width, picture.height).then(announce);
    else announce();
    return true;
  }

  async end(reason, tell, code = 'hung_up') {
    if (this.closedReason) return;
    this.closedReason = reason;
    clearTimeout(this.giveUpTimer);
    clearTimeout(this.restartTimer);
    this.closedCode = code;
    if (tell && this.session) {
      try {
        await this.node.sendTo(this.contact, { type: 'bye', session: this.session, reason, code });
      } catch {
        // The device notices the connection end by itself.
      }
    }
    if (this.queue) this.queue.close();
    if (this.link) this.link.close(reason);
    if (this.pc) this.pc.close();
    this.setState('closed');
    this.resolveClosed(reason);
    this.dispatchEvent(new CustomEvent('close', { detail: { reason, code } }));
    if (this.onclose) this.onclose(reason, code);
  }
}

// The `sha-256 AB:CD:…` fingerprint of an SDP, upper case; '' when it has none.
function sdpFingerprint(sdp) {
  const m = /^a=fingerprint:(\S+) (\S+)/im.exec(sdp || '');
  return m ? `${m[1].toLowerCase()} ${m[2].toUpperCase()}` : '';
}

async function jpegBytes(photo) {
  let bytes;
  if (photo instanceof Uint8Array) bytes = photo;
  else if (photo instanceof ArrayBuffer) bytes = new Uint8Array(photo);
  else if (photo instanceof Blob) bytes = new Uint8Array(await photo.arrayBuffer());
  else throw new RtcError('invalid', 'a photo is given as its JPEG bytes or a Blob');
  if (bytes.length > LIMITS.maxJpegBytes) {
    throw new RtcError('invalid', `the photo is ${bytes.length} bytes; at most ${LIMITS.maxJpegBytes}`);
  }
  return bytes;
}

// A share that did not get through, in the API's words. The device says
// "talk_back" when its owner did not allow this contact to send photos and thoughts.
function shareFailure(error, name) {
  const who = name || 'the contact';
  if (error.kind === 'refused') {
    const notAllowed = error.code === 'not_allowed';
    return new RtcError(notAllowed ? 'not_allowed' : 'refused', `${who} did not accept the share: ${error.reason}`, {
      reason: error.reason,
      code: error.code,
      denied: notAllowed ? ['talk_back'] : [],
    });
  }
  if (error.kind === 'busy') {
    return new RtcError('busy', `${who} cannot take the share right now: ${error.reason}`, {
      reason: error.reason,
      code: error.code,
    });
  }
  if (error.kind === 'no_answer') return new RtcError('no_answer', `${who} did not answer; the share was not delivered`);
  return new RtcError('closed', error.message);
}

/** The API, as one object: `RTC.PeerConnection`, `RTC.VideoStream`, … */
const RTC = { PeerConnection, MediaStream, VideoStream, AudioStream, AudioVideoStream, Message, RtcError, features };
export default RTC;
