// SHA-256 in the browser: each part through crypto.subtle (S3 verifies it against the signed header), the
// whole file incrementally (hash-wasm, bundled) so a large file is never held in memory at once.
import { createSHA256 } from 'hash-wasm';

export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  return Array.from(view, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Base64 of raw bytes: the form S3's x-amz-checksum-sha256 header takes. */
export function toBase64(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let text = '';
  for (const b of view) text += String.fromCharCode(b);
  return btoa(text);
}

export function hexToBase64(hex: string): string {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return toBase64(bytes);
}

/** The SHA-256 of one part (a Blob slice), hex. */
export async function sha256Hex(blob: Blob): Promise<string> {
  return toHex(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
}

const CHUNK = 8 * 1024 * 1024;

/** The whole file's SHA-256, hex, read in chunks; `onBytes` hears how far it got. */
export async function sha256File(blob: Blob, onBytes?: (done: number) => void): Promise<string> {
  const hasher = await createSHA256();
  hasher.init();
  for (let offset = 0; offset < blob.size; offset += CHUNK) {
    const chunk = new Uint8Array(await blob.slice(offset, offset + CHUNK).arrayBuffer());
    hasher.update(chunk);
    onBytes?.(Math.min(blob.size, offset + CHUNK));
  }
  return hasher.digest('hex');
}
