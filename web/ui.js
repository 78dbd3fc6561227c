// Hearth viewer: what the person sees. Every word shown is here, written for
// someone who has never heard of WebRTC. Text goes in with textContent only
// (the page's CSP forbids HTML sinks).

const $ = (id) => document.getElementById(id);
const SCREENS = ['screen-loading', 'screen-problem', 'screen-name', 'screen-waiting', 'screen-refused', 'screen-live'];

const PROBLEMS = {
  nolink: [
    'Open the link you were sent',
    'This page shows a Hearth camera, but it needs the link its owner sent you. ' +
      'Open that link (it ends with a long code), or ask them to send it again.',
  ],
  insecure: [
    'This page needs a secure address',
    'Open it with an address that starts with https:// — or on the Hearth itself, at localhost. ' +
      'The owner can find how in the Hearth guide.',
  ],
  badlink: ['This link is damaged', 'Part of it may be missing. Ask for the link again.'],
  unsupported: [
    'Please update your browser',
    'This browser is too old for the privacy protection Hearth uses. ' +
      'Update it, or try a recent Chrome, Edge, Firefox or Safari.',
  ],
  broken: ['Something went wrong', 'Reload the page to try again.'],
};

let sharing = false;

function show(screen) {
  for (const id of SCREENS) $(id).hidden = id !== screen;
  // Photos and notes belong to an approved person: shown with the live screen only.
  $('shares').hidden = !(sharing && screen === 'screen-live');
}

/** Puts the device's name everywhere it is mentioned. */
export function setDeviceName(name) {
  document.title = `${name} · Hearth`;
  $('device-name').textContent = name;
  for (const el of document.querySelectorAll('.device-name')) el.textContent = name;
}

/** The status line: `tone` is `live`, `wait` or `off`. */
export function status(text, tone = 'wait') {
  $('status-text').textContent = text;
  $('status').dataset.tone = tone;
}

/** A problem that stops the page: one of the PROBLEMS above, with an optional detail. */
export function problem(kind, detail) {
  const [title, text] = PROBLEMS[kind] || PROBLEMS.broken;
  $('problem-title').textContent = title;
  $('problem-text').textContent = detail ? `${text} (${detail})` : text;
  status(title, 'off');
  show('screen-problem');
}

/** Asks the person's name; calls `onName(name)` when they send it. */
export function askName(onName) {
  const form = $('name-form');
  const input = $('name');
  show('screen-name');
  status('Not watching yet', 'wait');
  form.onsubmit = (event) => {
    event.preventDefault();
    const name = input.value.trim();
    if (!name) {
      input.focus();
      return;
    }
    $('ask').disabled = true;
    onName(name);
  };
  input.focus();
}

/** Waiting for the owner to decide. */
export function waiting() {
  $('ask').disabled = false;
  show('screen-waiting');
  status('Waiting for a yes', 'wait');
}

/** The owner said no. */
export function refused(name, reason, onAskAgain) {
  answered(`Your request to watch ${name} was not accepted.`, reason, onAskAgain);
}

/** The owner stopped sharing with this person. */
export function revoked(name, onAskAgain) {
  answered(`${name} no longer shares with you.`, 'The owner stopped sharing this Hearth with you.', onAskAgain);
}

function answered(title, reason, onAskAgain) {
  $('refused-title').textContent = title;
  $('refused-text').textContent =
    `${sentence(reason)} If you think this is a mistake, talk to them, then ask again.`;
  $('ask-again').onclick = onAskAgain;
  show('screen-refused');
  status('Not shared with you', 'off');
  stopStream();
}

function sentence(text) {
  const t = String(text || '').trim();
  if (!t) return '';
  const s = t[0].toUpperCase() + t.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

/** Words for what the owner did not share (names from the device's `denied`). */
export function deniedText(name, denied) {
  if (denied.includes('privacy')) return `${name} has privacy mode on right now.`;
  const video = denied.includes('live_video');
  const sound = denied.includes('live_audio');
  if (video && sound) return `${name} hasn't shared video or sound with you yet.`;
  if (video) return `${name} hasn't shared video with you yet.`;
  if (sound) return `${name} hasn't shared sound with you yet.`;
  return '';
}

/** The live screen, before any stream. */
export function live() {
  show('screen-live');
}

/** Connected, but nothing is shared with this person: say so in plain words. */
export function nothingShared(name, denied) {
  show('screen-live');
  stopStream();
  $('no-video-text').textContent = `${deniedText(name, denied)} The picture will appear here by itself as soon as it is shared.`;
  $('no-video').hidden = false;
  // No picture to make room for: a short banner, so photos and notes come first.
  $('stage').dataset.empty = 'true';
  $('notice').hidden = true;
}

/**
 * Shows a contact's stream: plays it with sound if the browser lets us, else
 * offers a tap to unmute. `me` is the name this person gave.
 */
export function showStream(stream, name, me) {
  show('screen-live');
  $('caption').textContent = me ? `You are watching as ${me}.` : '';
  const video = $('video');
  delete $('stage').dataset.empty;
  stream.attachTo(video);
  const unmute = $('unmute');
  const text = deniedText(name, stream.granted.denied);
  $('no-video').hidden = stream.hasVideo;
  $('no-video-text').textContent = stream.hasVideo ? '' : `Sound only. ${text}`;
  $('notice').textContent = text;
  $('notice').hidden = !text || !stream.hasVideo;
  unmute.onclick = () => {
    video.muted = false;
    video.play().catch(() => {});
    unmute.hidden = true;
  };
  video.muted = false;
  video.play().then(
    () => { unmute.hidden = true; },
    () => {
      // The browser wants a tap before playing sound: play muted, offer the tap.
      video.muted = true;
      unmute.hidden = !stream.hasAudio;
      video.play().catch(() => {});
    },
  );
}

/**
 * The stream is still there but nothing flows now (privacy mode): the frozen
 * picture gives way to the reason, in words. showStream brings it back.
 */
export function paused(name, denied) {
  show('screen-live');
  $('no-video-text').textContent = deniedText(name, denied) || `${name} shares nothing live with you right now.`;
  $('no-video').hidden = false;
  $('stage').dataset.empty = 'true';
  $('notice').hidden = true;
  $('unmute').hidden = true;
}

/** Takes the stream off the screen. */
export function stopStream() {
  const video = $('video');
  $('caption').textContent = '';
  video.srcObject = null;
  $('unmute').hidden = true;
  $('notice').hidden = true;
}

// ---- This person's camera on the Hearth's screen.

/** What the camera button says in each state of `myCamera`. */
function cameraLabel(state) {
  const name = $('device-name').textContent;
  if (state === 'opening') return 'Opening your camera…';
  return state === 'off' ? `Show my camera on ${name}'s screen` : 'Stop showing my camera';
}

/** Turns on the camera button; `onPress()` is called when it is pressed. */
export function myCameraControl(onPress) {
  $('my-camera').onclick = onPress;
  myCamera('off', '');
}

/**
 * The camera button and the note beside it. `state`: `off` (camera off),
 * `opening`, `on` (sent, nothing heard back yet, or not shown) or `shown` (on
 * the Hearth's screen now). `note` is a sentence, or '' for none.
 */
export function myCamera(state, note, tone = state === 'shown' ? 'live' : 'wait') {
  const button = $('my-camera');
  button.textContent = cameraLabel(state);
  button.disabled = state === 'opening';
  button.dataset.state = state;
  const text = $('my-camera-note');
  text.textContent = note;
  text.dataset.tone = tone;
  text.hidden = !note;
}

/** Why this person's camera is not on the Hearth's screen, in plain words (by the device's `code`). */
export function notShownText(code, reason) {
  if (reason) return sentence(reason);
  const name = $('device-name').textContent;
  switch (code) {
    case 'show_not_allowed':
      return `The owner of ${name} has not allowed your camera on its screen.`;
    case 'privacy':
      return `${name} is private just now, so your picture is not shown.`;
    case 'ended_by_owner':
      return `The owner took your picture off ${name}'s screen.`;
    case 'replaced':
      return `Someone else is on ${name}'s screen now.`;
    default:
      return `Your picture is not on ${name}'s screen.`;
  }
}

/** Why the camera could not be opened (an RtcError from RTC.VideoStream.open), in plain words. */
export function cameraFailureText(error) {
  if (error && error.kind === 'not_supported') {
    return 'This browser cannot open a camera on this page: it needs an address that starts with https://.';
  }
  return 'Your camera could not be opened. Check that this browser may use it, then try again.';
}

// ---- Photos and notes.

const KIND_WORDS = { snapshot: 'Snapshot', photo: 'Photo', thought: 'Note' };
const shown = new Map();

/**
 * Turns on the "Photos and notes" area (see RTC.features.sharing), shown
 * with the live screen. `onSend({ text, photoFile })` is called when the
 * person presses Send; it resolves when sent, or throws to say why not.
 */
export function enableSharing(enabled, onSend) {
  sharing = enabled;
  $('shares').hidden = !(enabled && !$('screen-live').hidden);
  const form = $('share-form');
  form.onsubmit = async (event) => {
    event.preventDefault();
    const photoFile = $('share-photo').files[0] || null;
    const text = $('share-thought').value.trim();
    if (!photoFile && !text) {
      shareResult('Pick a photo or write a few words first.', 'off');
      return;
    }
    $('share-send').disabled = true;
    shareResult(photoFile ? 'Sending your photo…' : 'Sending…', 'wait');
    try {
      await onSend({ text, photoFile });
      form.reset();
      shareResult(`Sent. ${$('device-name').textContent} has it now.`, 'live');
    } catch (e) {
      shareResult(sendFailure(e), 'off');
    } finally {
      $('share-send').disabled = false;
    }
  };
}

function shareResult(text, tone) {
  const result = $('share-result');
  result.textContent = text;
  result.dataset.tone = tone;
  result.hidden = false;
}

// Why a photo or note did not get through, in plain words.
function sendFailure(error) {
  const name = $('device-name').textContent;
  switch (error && (error.name === 'PhotoError' ? 'photo' : error.kind)) {
    case 'photo':
      return 'That file is not a photo this browser can open. Try another one.';
    case 'not_allowed':
      return `Not sent: the owner of ${name} hasn't allowed you to send photos and notes. Ask them to allow it.`;
    case 'refused':
      return `Not sent: ${name} did not accept it. ${sentence(error.reason)}`;
    case 'busy':
      return `Not sent yet: ${name} has no room for it right now. Try again later.`;
    case 'invalid':
      return `Not sent: ${sentence(error.message)}`;
    default:
      return `Not sent: ${name} can't be reached right now. Try again in a moment.`;
  }
}

function when(ms) {
  return new Date(ms).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

/**
 * Adds shares (records from RTC's fetchShares or `share` events) to the
 * gallery, newest first; one already shown is not shown twice. `name` is the
 * device's name.
 */
export function showShares(shares, name) {
  const list = $('share-list');
  for (const share of shares) {
    if (shown.has(share.id)) continue;
    const item = document.createElement('li');
    item.className = 'share';
    item.dataset.id = share.id;
    item.dataset.kind = share.kind;
    if (share.photo) {
      const img = document.createElement('img');
      img.src = URL.createObjectURL(share.photo);
      img.alt = share.text || `${KIND_WORDS[share.kind] || 'Photo'} from ${name}`;
      img.decoding = 'async';
      img.title = 'Tap to see it larger';
      img.onclick = () => item.classList.toggle('open');
      item.append(img);
    }
    if (share.text) {
      const text = document.createElement('p');
      text.className = 'share-text';
      text.textContent = share.text;
      item.append(text);
    }
    const meta = document.createElement('p');
    meta.className = 'share-meta';
    meta.textContent = `${KIND_WORDS[share.kind] || 'Share'} from ${name} · ${when(share.createdAt)}`;
    item.append(meta);
    shown.set(share.id, share.createdAt);
    // Newest first: before the first one that is older.
    const later = [...list.children].find((li) => shown.get(li.dataset.id) < share.createdAt);
    list.insertBefore(item, later || null);
  }
  $('share-empty').hidden = shown.size > 0;
}

/** Shows the "Hide my address" choice as `on` and calls `changed(on)` when it is flipped. */
export function hideAddressChoice(on, changed) {
  const box = $('hide-address');
  box.checked = on;
  box.addEventListener('change', () => changed(box.checked));
}
