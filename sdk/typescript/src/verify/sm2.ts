/**
 * SM2 signature verification (GM/T 0003, SM3 digest, distinguishing ID 1234567812345678, raw 64-byte r‖s,
 * 65-byte SEC1 uncompressed public keys), via sm-crypto. sm-crypto is not hardened against malformed input,
 * so every key and signature is checked for shape first and any exception counts as "does not verify".
 */
import smCrypto from 'sm-crypto';

import { toHex } from './bytes.js';

const { sm2 } = smCrypto;

export const DEFAULT_DIST_ID = '1234567812345678';

/** True if `signature` (64 bytes r‖s) is `publicKey`'s (65 bytes, 0x04 ‖ X ‖ Y) SM2 signature over `message`. */
export function verifySm2(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 65 || publicKey[0] !== 0x04 || signature.length !== 64) return false;
  try {
    // doVerifySignature itself refuses points that are not on the curve and r, s outside [1, n−1].
    return sm2.doVerifySignature(Array.from(message), toHex(signature), toHex(publicKey), {
      hash: true,
      der: false,
      userId: DEFAULT_DIST_ID,
    });
  } catch {
    return false;
  }
}
