/** SM3 (GB/T 32905) over bytes, via sm-crypto. */
import smCrypto from 'sm-crypto';

import { concat, fromHex } from './bytes.js';

const sm3Hex = smCrypto.sm3;

/** SM3 digest of `data` (32 bytes). */
export function sm3(data: Uint8Array): Uint8Array {
  return fromHex(sm3Hex(Array.from(data)), 'sm3 digest');
}

/** SM3 over several parts, as if concatenated. */
export function sm3Parts(...parts: Uint8Array[]): Uint8Array {
  return sm3(concat(...parts));
}
