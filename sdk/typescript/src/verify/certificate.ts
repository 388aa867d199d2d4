/**
 * Commit certificates: a block is final when validators holding more than two thirds of the voting power
 * signed a precommit for its header hash. Mirrors `verify_certificate` in core-chain/node/src/certificate.rs.
 * What each signature covers is pluggable ([`SigningBytes`]); the default is the node's precommit
 * (`precommit_signing_bytes` in core-chain/node/src/signing.rs).
 */
import { concat, equalBytes, toHex, utf8 } from './bytes.js';
import { addressOf } from './ledger.js';
import { verifySm2 } from './sm2.js';

export const VOTE_PREFIX = utf8('SCF-VOTE-v1');

export interface Validator {
  name: string;
  /** 65-byte SEC1 uncompressed SM2 key. */
  publicKey: Uint8Array;
  power: bigint;
}

export interface CommitSignature {
  /** 20-byte address of the signing validator. */
  validator: Uint8Array;
  /** 64-byte SM2 r‖s. */
  signature: Uint8Array;
}

export interface CommitCertificate {
  height: bigint;
  round: number;
  blockHash: Uint8Array;
  signatures: CommitSignature[];
}

/** The bytes one certificate signature covers. */
export type SigningBytes = (height: bigint, round: number, blockHash: Uint8Array, validator: Uint8Array) => Uint8Array;

function u64le(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
}

function u32le(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
}

/**
 * `"SCF-VOTE-v1" ‖ borsh(Vote { Precommit, height, Round::Some(round), NilOrVal::Val(block hash), validator })`:
 * tag 1 (Precommit) ‖ u64 LE ‖ tag 1 ‖ u32 LE ‖ tag 1 ‖ hash(32) ‖ address(20).
 */
export const precommitSigningBytes: SigningBytes = (height, round, blockHash, validator) =>
  concat(VOTE_PREFIX, Uint8Array.of(1), u64le(height), Uint8Array.of(1), u32le(round), Uint8Array.of(1), blockHash, validator);

export type CertificateFailure =
  | { check: 'certificate_height'; expected: bigint; got: bigint }
  | { check: 'certificate_block_hash'; expected: string; got: string }
  | { check: 'unknown_validator'; index: number; validator: string }
  | { check: 'duplicate_validator'; index: number; validator: string }
  | { check: 'bad_signature'; index: number; validator: string }
  | { check: 'insufficient_power'; signed: bigint; total: bigint };

export interface CertificateCheck {
  ok: true;
  height: bigint;
  round: number;
  signers: string[];
  signedPower: bigint;
  totalPower: bigint;
}

/**
 * Check `cert` for the block at `height` whose header hashes to `blockHash` against `validators`.
 * Needs nothing from a server beyond the certificate and a validator set the caller trusts.
 */
export function verifyCertificate(
  height: bigint,
  blockHash: Uint8Array,
  cert: CommitCertificate,
  validators: Validator[],
  signingBytes: SigningBytes = precommitSigningBytes,
): CertificateCheck | ({ ok: false } & CertificateFailure) {
  if (cert.height !== height) {
    return { ok: false, check: 'certificate_height', expected: height, got: cert.height };
  }
  if (!equalBytes(cert.blockHash, blockHash)) {
    return { ok: false, check: 'certificate_block_hash', expected: toHex(blockHash), got: toHex(cert.blockHash) };
  }
  const byAddress = new Map(validators.map((v) => [toHex(addressOf(v.publicKey)), v]));
  const total = validators.reduce((n, v) => n + v.power, 0n);
  const seen = new Set<string>();
  const signers: string[] = [];
  let signed = 0n;
  for (const [index, s] of cert.signatures.entries()) {
    const validator = toHex(s.validator);
    const v = byAddress.get(validator);
    if (v === undefined) return { ok: false, check: 'unknown_validator', index, validator };
    if (seen.has(validator)) return { ok: false, check: 'duplicate_validator', index, validator };
    seen.add(validator);
    if (!verifySm2(v.publicKey, signingBytes(height, cert.round, blockHash, s.validator), s.signature)) {
      return { ok: false, check: 'bad_signature', index, validator };
    }
    signed += v.power;
    signers.push(v.name);
  }
  if (signed * 3n <= total * 2n) {
    return { ok: false, check: 'insufficient_power', signed, total };
  }
  return { ok: true, height, round: cert.round, signers, signedPower: signed, totalPower: total };
}
