// Hearth viewer: this browser's camera on the contact's screen (issue #16).
// The device says on the data channel whether the picture it is sent is
// shown: `{"type":"picture","shown":true,"width":640,"height":480}` (on its
// screen now; send at most that size) or `{"type":"picture","shown":false,
// "code":…,"reason":…}` (not, or no longer, shown, and why in plain words).
// This module reads those messages and keeps the camera within the size asked.

/** Why a picture is not, or no longer, on the contact's screen (the device's `code`s). */
export const NOT_SHOWN_CODES = Object.freeze(['show_not_allowed', 'privacy', 'ended_by_owner', 'replaced']);

/**
 * Reads a data-channel text as a `picture` message: null when it is not one,
 * `{ malformed: true }` for one that cannot be used, else `{ shown, width,
 * height }` (shown: the most the device wants, in pixels) or `{ shown: false,
 * code, reason }`.
 */
export function parsePicture(text) {
  if (typeof text !== 'string' || !text.includes('"picture"')) return null;
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!value || value.type !== 'picture') return null;
  if (value.shown === true) {
    const size = (n) => (Number.isInteger(n) && n > 0 && n <= 8192 ? n : null);
    return { shown: true, width: size(value.width), height: size(value.height), code: null, reason: '' };
  }
  if (value.shown !== false || typeof value.code !== 'string') return { malformed: true };
  return { shown: false, width: null, height: null, code: value.code, reason: typeof value.reason === 'string' ? value.reason : '' };
}

/**
 * Keeps the video this connection sends within `width`×`height`: first by
 * asking the camera for that size (`applyConstraints`), then, if the camera
 * cannot or still gives more, by scaling down what is sent
 * (`scaleResolutionDownBy`). Resolves once applied; never rejects.
 */
export async function limitSentVideo(pc, width, height) {
  if (!pc || !width || !height) return;
  const senders = pc.getSenders().filter((s) => s.track && s.track.kind === 'video');
  for (const sender of senders) {
    const track = sender.track;
    try {
      await track.applyConstraints({
        width: { max: width, ideal: width },
        height: { max: height, ideal: height },
      });
    } catch (e) {
      console.debug('hearth: the camera did not take the size the contact asked for:', e.message);
    }
    const settings = track.getSettings();
    const scale = Math.max(1, (settings.width || 0) / width, (settings.height || 0) / height);
    try {
      const parameters = sender.getParameters();
      if (!parameters.encodings || parameters.encodings.length === 0) parameters.encodings = [{}];
      const before = parameters.encodings[0].scaleResolutionDownBy || 1;
      if (before === scale) continue;
      for (const encoding of parameters.encodings) encoding.scaleResolutionDownBy = scale;
      await sender.setParameters(parameters);
    } catch (e) {
      console.warn('hearth: could not scale down the video sent to the contact:', e.message);
    }
  }
}
