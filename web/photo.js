// Hearth viewer: turns a picture the person picked (a phone photo, a PNG, a
// HEIC the browser can read…) into a JPEG small enough to share. Every
// picture is drawn on a canvas and encoded again: that caps its size, turns
// it upright, and leaves behind what the file carried besides the picture
// (such as where it was taken).

/** Largest JPEG the page sends (the device accepts 2 MiB by default). */
export const MAX_PHOTO_BYTES = 1536 * 1024;
/** Longest side of a shared photo, in pixels. */
export const MAX_SIDE = 2048;
const QUALITIES = [0.88, 0.8, 0.7, 0.6];

/** A file that is not a picture this browser can read. */
export class PhotoError extends Error {
  constructor(detail) {
    super(`not a picture this browser can read (${detail})`);
    this.name = 'PhotoError';
  }
}

function encode(canvas, quality) {
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new PhotoError('it could not be encoded'))), 'image/jpeg', quality);
  });
}

/** The JPEG bytes (a Uint8Array of at most MAX_PHOTO_BYTES) of `file`, a Blob holding a picture. */
export async function preparePhoto(file, { maxBytes = MAX_PHOTO_BYTES, maxSide = MAX_SIDE } = {}) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  } catch (e) {
    throw new PhotoError(e.message);
  }
  try {
    let scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
    for (;;) {
      const canvas = document.createElement('canvas');
      canvas.width = Math.max(1, Math.round(bitmap.width * scale));
      canvas.height = Math.max(1, Math.round(bitmap.height * scale));
      const context = canvas.getContext('2d');
      // JPEG has no transparency: a transparent PNG goes on white, not black.
      context.fillStyle = '#fff';
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      for (const quality of QUALITIES) {
        const blob = await encode(canvas, quality);
        if (blob.size <= maxBytes) return new Uint8Array(await blob.arrayBuffer());
      }
      if (canvas.width <= 64 && canvas.height <= 64) throw new PhotoError('it stays too large');
      scale *= 0.7;
    }
  } finally {
    bitmap.close();
  }
}
