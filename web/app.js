// Hearth viewer: the page's controller. Reads the device's contact code from
// the link's fragment (#c=…, never sent to a server), pairs this browser with
// the device, then watches it live and reconnects by itself. When the owner
// turns privacy on or off or changes what this person may see, the device
// says so on the open session and the page follows at once: it says why the
// picture stopped, and calls again when more is allowed. While connected
// — live or not — it receives the snapshots, photos and notes the device
// shares with this person and sends the device theirs. On request it adds
// this person's camera to the session, for the device's screen (issue #16),
// and says whether the device shows it. Keeps what it learned
// (keys, the owner's answer, what was shared) in IndexedDB for the next visit.

import RTC from './hearth-rtc.js';
import { Identity, parseContactCode, supported } from './crypto.js';
import { HearthNode, OfflineError } from './node.js';
import { preparePhoto } from './photo.js';
import { Backoff, relayUrls } from './relay.js';
import * as store from './store.js';
import * as ui from './ui.js';

/**
 * When nothing live is shared with this person, how long a session stays
 * open (for shares both ways) before the page asks again for live media
 * (a device that says when that changes is called again at once instead).
 */
const RECHECK_MS = 30_000;
/** How long Send waits for a connection to the device. */
const SEND_CONNECT_MS = 20_000;
/** How many sessions a share is tried on before the person is told it failed. */
const SEND_ATTEMPTS = 3;
/** Where this browser keeps its "Hide my address" choice. */
const HIDE_ADDRESS_KEY = 'hearth.relayOnly';

/** Whether this person chose to connect through the relay's TURN server only. */
function hideAddress() {
  try {
    return localStorage.getItem(HIDE_ADDRESS_KEY) === 'true';
  } catch {
    return false;
  }
}

function codeFromLink() {
  return new URLSearchParams(location.hash.slice(1)).get('c');
}

/** Pairs with one device and watches it. One per page. */
class Viewer {
  constructor(node, device, record) {
    this.node = node;
    this.device = device;
    this.record = record || null;
    /** The PeerConnection in use, if any (for the curious, in the console). */
    this.connection = null;
    this.watching = false;
    this.requesting = false;
    this.replaced = false;
    /** Set when the device allowed more than the session carries: call again now. */
    this.callAgain = false;
    /** Relay candidates only ("Hide my address"). */
    this.relayOnly = hideAddress();
    /** The live stream on screen, if any. */
    this.stream = null;
    /** This person's camera (a local RTC.MediaStream) while they show it on the device, else null. */
    this.myCamera = null;
    this.wakeUp = () => {};
  }

  get name() {
    return this.device.name || 'the Hearth';
  }

  get status() {
    return this.record ? this.record.status : null;
  }

  start() {
    const { node } = this;
    node.addEventListener('relay', (e) => this.relayChanged(e.detail.connected));
    node.addEventListener('pair_approved', (e) => e.detail.from === this.device.key && this.approved());
    node.addEventListener('pair_refused', (e) => e.detail.from === this.device.key && this.refused(e.detail.reason));
    node.addEventListener('refused_envelope', (e) => {
      if (e.detail.error.kind === 'stale') {
        ui.status("This computer's clock is more than 2 minutes off. Set it right, then reload.", 'off');
      }
    });
    node.addEventListener('replaced', () => {
      this.replaced = true;
      this.offline();
    });
    window.addEventListener('online', () => {
      node.relay.retryNow();
      this.wake();
    });
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState !== 'visible') return;
      node.relay.retryNow();
      this.wake();
    });
    ui.enableSharing(RTC.features.sharing, (content) => this.sendShare(content));
    ui.myCameraControl(() => this.toggleCamera());
    ui.hideAddressChoice(hideAddress(), (on) => {
      try {
        localStorage.setItem(HIDE_ADDRESS_KEY, String(on));
      } catch {
        // Private mode without storage: the choice lasts for this page only.
      }
      this.relayOnly = on;
      // Call again at once so the choice applies to the picture on screen.
      this.callAgainNow(on ? 'hiding my address; calling again' : 'calling again directly');
    });
    // What was shared before is in IndexedDB: shown at once, connected or not.
    new RTC.PeerConnection(node, this.device)
      .fetchShares()
      .then((shares) => ui.showShares(shares, this.name))
      .catch((e) => console.warn('hearth: cannot read the shares kept in this browser:', e.message));
    this.route();
  }

  route() {
    switch (this.status) {
      case 'pending':
        ui.waiting();
        this.sendRequest();
        break;
      case 'approved':
        this.watch();
        break;
      case 'refused':
        ui.refused(this.name, this.record.reason, () => this.askAgain());
        break;
      case 'revoked':
        ui.revoked(this.name, () => this.askAgain());
        break;
      default:
        ui.askName((name) => this.ask(name));
    }
  }

  async save(changes) {
    this.record = { ...(this.record || {}), ...changes, device: this.device.text };
    await store.put('devices', this.device.key, this.record);
  }

  async ask(name) {
    await this.save({ status: 'pending', myName: name, reason: null });
    ui.waiting();
    this.sendRequest();
  }

  askAgain() {
    if (this.record && this.record.myName) this.ask(this.record.myName);
    else ui.askName((name) => this.ask(name));
  }

  // Sends the pairing request until the relay takes it for the device.
  async sendRequest() {
    if (this.requesting) return;
    this.requesting = true;
    const backoff = new Backoff({ initialMs: 1_000, maxMs: 30_000 });
    while (this.status === 'pending') {
      if (!this.node.connected) {
        this.offline();
        await this.sleep(RECHECK_MS);
        continue;
      }
      try {
        await this.node.requestPairing(this.device, this.record.myName);
        ui.status('Asked. Waiting for a yes', 'wait');
        break;
      } catch (e) {
        const why = e instanceof OfflineError ? `${this.name} is offline right now.` : 'Could not send the request.';
        ui.status(`${why} Trying again by itself…`, 'off');
        await this.sleep(backoff.next());
      }
    }
    this.requesting = false;
  }

  // Says why there is no relay connection.
  offline() {
    if (this.replaced) ui.status('This page is open in another tab or window, which is watching now.', 'off');
    else ui.status('Connecting…', 'wait');
  }

  relayChanged(connected) {
    if (connected) {
      this.replaced = false;
      // A request is sent again on every reconnect: the device answers at once if it already said yes.
      if (this.status === 'pending') this.sendRequest();
      this.wake();
    } else if (this.status === 'pending' || (this.status === 'approved' && !this.streaming())) {
      this.offline();
    }
  }

  streaming() {
    return this.connection !== null && this.connection.state === 'connected';
  }

  async approved() {
    if (this.status === 'approved') return;
    await this.save({ status: 'approved', reason: null });
    this.watch();
  }

  async refused(reason) {
    if (this.status !== 'pending') return;
    await this.save({ status: 'refused', reason });
    ui.refused(this.name, reason, () => this.askAgain());
  }

  // Watches the device for as long as this browser is approved, reconnecting
  // with backoff and jitter whenever the session ends or cannot start.
  async watch() {
    if (this.watching) return;
    this.watching = true;
    ui.live();
    const backoff = new Backoff({ initialMs: 1_000, maxMs: 30_000 });
    while (this.status === 'approved') {
      if (!this.node.connected) {
        this.offline();
        await this.sleep(RECHECK_MS);
        continue;
      }
      ui.status(`Connecting to ${this.name}…`, 'wait');
      const connection = new RTC.PeerConnection(this.node, this.device, { relayOnly: this.relayOnly });
      if (this.myCamera) connection.addStream(this.myCamera);
      this.connection = connection;
      this.callAgain = false;
      this.stream = null;
      connection.onstatechange = (state) => {
        if (state === 'interrupted') ui.status('Connection interrupted. Reconnecting…', 'wait');
        const access = connection.access || connection.granted;
        const live = access && (access.video || access.audio);
        if (state === 'connected' && live) ui.status('Live', 'live');
      };
      connection.onshare = (share) => ui.showShares([share], this.name);
      connection.onaccess = (access) => this.accessChanged(connection, access);
      connection.onpicture = (picture) => this.pictureChanged(connection, picture);
      let delay;
      try {
        const stream = await connection.fetchStream();
        backoff.reset();
        this.stream = stream;
        ui.showStream(stream, this.name, this.record.myName);
        ui.status('Live', 'live');
        // Told before the stream was on screen (privacy went on meanwhile).
        if (connection.access) this.accessChanged(connection, connection.access);
        await connection.closed;
        ui.stopStream();
        ui.status('Reconnecting…', 'wait');
        // A withdrawn permission: the next session carries what is still allowed, so ask now.
        delay = this.callAgain || connection.closedCode === 'access_withdrawn' ? 0 : backoff.next();
      } catch (e) {
        if (e.kind === 'not_allowed') {
          backoff.reset();
          ui.nothingShared(this.name, e.denied);
          ui.status(ui.deniedText(this.name, e.denied) || 'Connected. No live picture for you yet.', 'wait');
          // The session stays up for photos and notes, both ways, until the
          // device says more is allowed (or a while passes: then the page asks again).
          if (connection.access) this.accessChanged(connection, connection.access);
          await this.hold(connection);
          const endedByItself = connection.state === 'closed' && !this.callAgain;
          connection.close('nothing live shared yet; will ask again');
          delay = endedByItself ? backoff.next() : 0;
        } else if (e.kind === 'refused' && e.code === 'not_approved') {
          await this.save({ status: 'revoked' });
          ui.revoked(this.name, () => this.askAgain());
          break;
        } else if (e.kind === 'no_path') {
          // The words say what happened and what helps; the device's log says the same.
          ui.status(`${e.message} Trying again by itself…`, 'off');
          delay = backoff.next();
        } else if (e.kind === 'offline') {
          ui.status(`${this.name} is offline right now. Trying again by itself…`, 'off');
          delay = backoff.next();
        } else {
          ui.status(`Could not connect (${e.message}). Trying again by itself…`, 'off');
          delay = backoff.next();
        }
      }
      await this.sleep(delay);
    }
    this.connection = null;
    this.watching = false;
  }

  // The device says what this session may receive now (privacy on or off,
  // permissions changed): more than it carries means calling again at once;
  // nothing means the picture stops and the page says why; otherwise the
  // media resumes on this session.
  accessChanged(connection, access) {
    if (connection !== this.connection || connection.state === 'closed') return;
    if (connection.allowsMore(access)) {
      this.callAgain = true;
      ui.status(`Connecting to ${this.name}…`, 'wait');
      connection.close('more is shared now; calling again');
      return;
    }
    if (!this.stream) return; // nothing live on this session: the page already says why
    if (!access.video && !access.audio) {
      ui.paused(this.name, access.denied);
      ui.status(ui.deniedText(this.name, access.denied) || 'Nothing live is shared with you now.', 'off');
    } else {
      ui.showStream(this.stream, this.name, this.record.myName);
      ui.status('Live', 'live');
    }
  }

  // The "Show my camera" button: opens the camera and calls again with it,
  // or stops it and calls again without it. The watching goes on meanwhile.
  async toggleCamera() {
    if (this.myCamera) {
      this.stopCamera();
      ui.myCamera('off', '');
      this.callAgainNow('stopping my camera; calling again');
      return;
    }
    ui.myCamera('opening', '');
    let camera;
    try {
      camera = await RTC.VideoStream.open();
    } catch (e) {
      ui.myCamera('off', ui.cameraFailureText(e), 'off');
      return;
    }
    this.myCamera = camera;
    // A camera that goes away by itself (unplugged, taken by the system) is stopped here too.
    for (const track of camera.native.getVideoTracks()) {
      track.addEventListener('ended', () => {
        if (this.myCamera !== camera) return;
        this.stopCamera();
        ui.myCamera('off', 'Your camera stopped.', 'off');
        this.callAgainNow('my camera stopped; calling again');
      });
    }
    ui.myCamera('on', `Showing your camera to ${this.name}…`);
    this.callAgainNow('adding my camera; calling again');
  }

  stopCamera() {
    if (this.myCamera) this.myCamera.stop();
    this.myCamera = null;
  }

  // Ends the session in use so the next one starts at once with what changed
  // (the camera, the address choice); between sessions, starts the next now.
  callAgainNow(reason) {
    if (this.connection && this.connection.state !== 'closed') {
      this.callAgain = true;
      this.connection.close(reason);
    } else {
      this.wake();
    }
  }

  // The device says whether this person's camera is on its screen. When it
  // is not (not allowed, private, taken off, someone else on), the device
  // shows nothing more of it until asked again, so the camera goes off and
  // the button offers it again (the session goes on).
  pictureChanged(connection, picture) {
    if (connection !== this.connection || !this.myCamera) return;
    if (picture.shown) {
      ui.myCamera('shown', `Your camera is on ${this.name}'s screen.`);
      return;
    }
    this.stopCamera();
    ui.myCamera('off', ui.notShownText(picture.code, picture.reason), 'off');
  }

  // Keeps a session without live media open for RECHECK_MS — longer while a
  // share is moving or this person's camera is on the device's screen (asking
  // again would take it off) — or until it ends.
  async hold(connection) {
    const until = Date.now() + RECHECK_MS;
    while (connection.state !== 'closed' && this.status === 'approved') {
      const left = until - Date.now();
      if (left <= 0 && !connection.transferring && !this.myCamera) return;
      await Promise.race([connection.closed, this.sleep(Math.max(left, 1_000))]);
    }
  }

  // Sends a photo and/or a few words to the device on the session in use,
  // waiting for one if needed. A share cut off with its session is sent again
  // on the next one: the same share (same time), so it resumes and is kept once.
  async sendShare({ text, photoFile }) {
    const photo = photoFile ? await preparePhoto(photoFile) : null;
    const createdAt = Date.now();
    for (let attempt = 1; ; attempt++) {
      const connection = await this.connected(SEND_CONNECT_MS);
      try {
        return await connection.sendShare({ text, photo, createdAt });
      } catch (e) {
        if (e.kind !== 'closed' || attempt >= SEND_ATTEMPTS) throw e;
      }
    }
  }

  // The session in use once it is connected; starts one now if the page is between sessions.
  async connected(limitMs) {
    const deadline = Date.now() + limitMs;
    if (!(this.connection && this.connection.state === 'connected')) this.wake();
    for (;;) {
      const c = this.connection;
      if (c && c.state === 'connected') return c;
      if (Date.now() > deadline) throw new RTC.RtcError('offline', `${this.name} cannot be reached right now`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  // Waits `ms`, or less if something worth retrying for happens (wake()).
  sleep(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      const previous = this.wakeUp;
      this.wakeUp = () => {
        previous();
        done();
      };
    });
  }

  wake() {
    const wakeUp = this.wakeUp;
    this.wakeUp = () => {};
    wakeUp();
  }
}

async function main() {
  const text = codeFromLink();
  if (!text) return ui.problem('nolink');
  if (!window.isSecureContext || !window.crypto || !window.crypto.subtle) return ui.problem('insecure');
  let device;
  try {
    device = await parseContactCode(text);
  } catch (e) {
    return ui.problem('badlink', e.message);
  }
  ui.setDeviceName(device.name || 'Hearth');
  if (!(await supported())) return ui.problem('unsupported');
  const identity = await Identity.loadOrCreate();
  const node = new HearthNode(identity, relayUrls(device.relays, location.href));
  node.addContact(device);
  node.start();
  const viewer = new Viewer(node, device, await store.get('devices', device.key));
  // For the curious (and the tests): the objects in use, from the console.
  window.hearthViewer = viewer;
  viewer.start();
}

window.addEventListener('hashchange', () => location.reload());
main().catch((e) => {
  console.error('hearth:', e);
  ui.problem('broken', e.message);
});
