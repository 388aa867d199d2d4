/**
 * Transactions as the chain signs and checks them (docs/ledger-format.md):
 * `TxBody = chain_id, sender (65-byte SM2 key), nonce u64, expiry_height u64, call { module, payload }`,
 * signing bytes `"SCF-TX-v1" ‖ borsh(TxBody)`, id `SM3(signing bytes)`, `SignedTx = body ‖ signature(64)`.
 */
import { BorshWriter } from './borsh.js';
import type { Sm2Key } from './keys.js';
import { concat, toHex, utf8 } from './verify/bytes.js';
import { sm3 } from './verify/sm3.js';

export const TX_SIGNING_PREFIX = utf8('SCF-TX-v1');
/** Largest encoded transaction the chain admits. */
export const MAX_TX_BYTES = 256 * 1024;

/** A call into one domain module: its name and its Borsh-encoded call enum. */
export interface Call {
  module: string;
  payload: Uint8Array;
}

export interface TxBody {
  chainId: string;
  /** 65-byte SEC1 uncompressed SM2 public key of the signer. */
  sender: Uint8Array;
  /** Must equal the account's next nonce (`nextNonce`). */
  nonce: bigint;
  /** Last block height at which the transaction may be included. */
  expiryHeight: bigint;
  call: Call;
}

export interface SignedTx {
  body: TxBody;
  signature: Uint8Array;
}

export function encodeTxBody(b: TxBody): Uint8Array {
  const m = utf8(b.call.module);
  if (m.length < 1 || m.length > 32) throw new RangeError('call.module: 1..=32 bytes');
  return new BorshWriter()
    .string(b.chainId)
    .fixed(b.sender, 65, 'sender')
    .u64(b.nonce)
    .u64(b.expiryHeight)
    .string(b.call.module)
    .bytes(b.call.payload)
    .finish();
}

export function signingBytes(b: TxBody): Uint8Array {
  return concat(TX_SIGNING_PREFIX, encodeTxBody(b));
}

/** The transaction id (hex): SM3 of the signing bytes. */
export function txId(b: TxBody): string {
  return toHex(sm3(signingBytes(b)));
}

export function signTx(body: TxBody, key: Sm2Key): SignedTx {
  if (toHex(body.sender) !== key.publicKeyHex) throw new Error('sender: not this key');
  return { body, signature: key.sign(signingBytes(body)) };
}

/** The canonical encoding `submitSignedTransaction` and `dryRun` take (as hex). */
export function encodeSignedTx(tx: SignedTx): Uint8Array {
  const out = concat(encodeTxBody(tx.body), tx.signature);
  if (out.length > MAX_TX_BYTES) throw new RangeError(`transaction: ${out.length} bytes, at most ${MAX_TX_BYTES}`);
  return out;
}
