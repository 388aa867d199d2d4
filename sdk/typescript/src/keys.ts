/**
 * SM2 keys a client holds itself (GM/T 0003 with SM3 and the distinguishing ID 1234567812345678, as the
 * chain verifies them), through sm-crypto. Public keys are 65-byte SEC1 uncompressed points; signatures
 * are raw 64-byte r‖s; an account's address is the first 20 bytes of SM3(public key).
 */
import smCrypto from 'sm-crypto';

import { fromHex, fromHexLen, toHex } from './verify/bytes.js';
import { DEFAULT_DIST_ID, verifySm2 } from './verify/sm2.js';
import { sm3 } from './verify/sm3.js';

const { sm2 } = smCrypto;
/** In sm-crypto since 0.3.x, missing from its type declarations. */
const publicKeyOf = (sm2 as unknown as { getPublicKeyFromPrivateKey(secretHex: string): string }).getPublicKeyFromPrivateKey;

export { DEFAULT_DIST_ID, verifySm2 };

/** The account address of a public key: hex of the first 20 bytes of its SM3. */
export function addressOf(publicKey: Uint8Array): string {
  return toHex(sm3(publicKey).subarray(0, 20));
}

export class Sm2Key {
  readonly publicKey: Uint8Array;
  readonly address: string;

  private constructor(private readonly secretHex: string) {
    const pub = publicKeyOf(secretHex);
    this.publicKey = fromHexLen(pub, 65, 'public key');
    this.address = addressOf(this.publicKey);
  }

  /** A new random key. */
  static generate(): Sm2Key {
    return new Sm2Key(sm2.generateKeyPairHex().privateKey);
  }

  /** A key from its 32-byte secret scalar (hex). */
  static fromSecretHex(secretHex: string): Sm2Key {
    const s = fromHexLen(secretHex.replace(/^0x/, ''), 32, 'secret key');
    return new Sm2Key(toHex(s));
  }

  get publicKeyHex(): string {
    return toHex(this.publicKey);
  }

  /** The secret scalar (hex). Keep it where only the signer can read it. */
  exportSecretHex(): string {
    return this.secretHex;
  }

  /** SM2 signature (r‖s, 64 bytes) over `message`, with SM3 and the default distinguishing ID. */
  sign(message: Uint8Array): Uint8Array {
    const sig = sm2.doSignature(Array.from(message), this.secretHex, {
      hash: true,
      der: false,
      userId: DEFAULT_DIST_ID,
      publicKey: this.publicKeyHex,
    });
    return fromHexLen(sig.padStart(128, '0'), 64, 'signature');
  }
}

/** Decode a hex public key (65 bytes, `04…`). */
export function publicKeyFromHex(hex: string): Uint8Array {
  const b = fromHex(hex.replace(/^0x/, ''), 'public key');
  if (b.length !== 65 || b[0] !== 0x04) throw new TypeError('public key: expected 65 bytes starting with 04');
  return b;
}
