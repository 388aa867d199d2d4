/** Byte helpers shared by the verifier: strict lower/upper-case hex, concatenation, comparison. */

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** Decode hex (no `0x`, even length). Throws `TypeError` naming `what` on anything else. */
export function fromHex(hex: string, what = 'hex'): Uint8Array {
  if (typeof hex !== 'string' || !HEX.test(hex)) {
    throw new TypeError(`${what}: not an even-length hex string`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

/** Decode hex that must be exactly `len` bytes long. */
export function fromHexLen(hex: string, len: number, what: string): Uint8Array {
  const b = fromHex(hex, what);
  if (b.length !== len) {
    throw new TypeError(`${what}: expected ${len} bytes, got ${b.length}`);
  }
  return b;
}

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) {
    s += b.toString(16).padStart(2, '0');
  }
  return s;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return false;
  }
  return true;
}

export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
