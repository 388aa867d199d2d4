/**
 * `verifyEventProof`: everything the consumer page needs to show "verified on chain" for one anchored event,
 * checked in the browser without trusting the server:
 *
 *   event hash ∈ receipt events → SM3(receipt) under the header's receipts root (Merkle proof)
 *   → [optionally the tx id under the tx root] → header hash → commit certificate → validator set.
 *
 * The bundle carries bytes and proofs as hex (the form the API serves); decoded fields a server might send
 * alongside are ignored: the header and receipt are decoded here from their bytes.
 */
import { DecodeError } from './borsh.js';
import { fromHex, fromHexLen, toHex } from './bytes.js';
import {
  precommitSigningBytes,
  verifyCertificate,
  type CertificateFailure,
  type CommitCertificate,
  type SigningBytes,
  type Validator,
} from './certificate.js';
import { blockHash, decodeBlockHeader, decodeReceipt, eventAttribute, receiptHash } from './ledger.js';
import { verifyMerkleProof, type MerkleProof } from './merkle.js';

export interface WireProofStep {
  sibling: string;
  siblingOnLeft: boolean;
}

export interface WireMerkleProof {
  index: number;
  count: number;
  steps: WireProofStep[];
}

export interface WireCommitCertificate {
  height: string | number;
  round: number;
  blockHash: string;
  signatures: { validator: string; signature: string }[];
}

export interface WireValidator {
  name: string;
  publicKey: string;
  power: string | number;
}

/** Proof that one event hash was anchored on chain, in the form the API serves. */
export interface EventProofBundle {
  /** The anchored event hash exactly as recorded (e.g. `ni:///sha-256;…?ver=CBV2.0`). */
  eventHash: string;
  /** Canonical Borsh bytes of the receipt of the anchoring transaction. */
  receiptHex: string;
  /** The receipt hash's inclusion under the header's receipts root. */
  receiptProof: WireMerkleProof;
  /** The anchoring transaction id's inclusion under the header's tx root (checked when present). */
  txProof?: WireMerkleProof | null;
  /** Canonical Borsh bytes of the block header. */
  headerHex: string;
  certificate: WireCommitCertificate | null;
  /** The validator set the certificate is checked against. */
  validators: WireValidator[];
}

export type VerifyFailure =
  | { check: 'malformed'; field: string; reason: string }
  | { check: 'chain_id'; expected: string; got: string }
  | { check: 'receipt_failed'; code: string }
  | { check: 'event_not_in_receipt'; eventHash: string }
  | { check: 'receipt_height'; expected: bigint; got: bigint }
  | { check: 'receipt_index'; expected: number; got: number }
  | { check: 'receipt_proof' }
  | { check: 'tx_proof' }
  | { check: 'certificate_missing' }
  | CertificateFailure;

export interface Verified {
  verified: true;
  chainId: string;
  height: bigint;
  timeMs: bigint;
  blockHash: string;
  txId: string;
  signers: string[];
  signedPower: bigint;
  totalPower: bigint;
}

export type VerifyResult = Verified | { verified: false; failure: VerifyFailure };

export interface VerifyOptions {
  /** Refuse a header from another chain. */
  chainId?: string;
  /** What a certificate signature covers; defaults to the node's precommit. */
  signingBytes?: SigningBytes;
}

function parseProof(p: WireMerkleProof, field: string): MerkleProof {
  if (!Array.isArray(p?.steps)) throw new DecodeError(field, 'steps is not a list');
  return {
    index: p.index,
    count: p.count,
    steps: p.steps.map((s, i) => {
      if (typeof s.siblingOnLeft !== 'boolean') throw new DecodeError(`${field}.steps[${i}]`, 'side is not a boolean');
      return { sibling: fromHexLen(s.sibling, 32, `${field}.steps[${i}].sibling`), siblingOnLeft: s.siblingOnLeft };
    }),
  };
}

function parseU64(v: string | number, field: string): bigint {
  if ((typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) || (typeof v === 'string' && /^\d{1,20}$/.test(v))) {
    const n = BigInt(v);
    if (n < 2n ** 64n) return n;
  }
  throw new DecodeError(field, 'not an unsigned 64-bit integer');
}

function parseCertificate(c: WireCommitCertificate): CommitCertificate {
  if (!Number.isInteger(c.round) || c.round < 0 || c.round > 0xffff_ffff) {
    throw new DecodeError('certificate.round', 'not an unsigned 32-bit integer');
  }
  return {
    height: parseU64(c.height, 'certificate.height'),
    round: c.round,
    blockHash: fromHexLen(c.blockHash, 32, 'certificate.blockHash'),
    signatures: c.signatures.map((s, i) => ({
      validator: fromHexLen(s.validator, 20, `certificate.signatures[${i}].validator`),
      signature: fromHexLen(s.signature, 64, `certificate.signatures[${i}].signature`),
    })),
  };
}

function parseValidators(vs: WireValidator[]): Validator[] {
  return vs.map((v, i) => ({
    name: v.name,
    publicKey: fromHexLen(v.publicKey, 65, `validators[${i}].publicKey`),
    power: parseU64(v.power, `validators[${i}].power`),
  }));
}

function fail(failure: VerifyFailure): VerifyResult {
  return { verified: false, failure };
}

/** Verify one event's anchoring proof end to end. Never throws: malformed input is a `malformed` failure. */
export function verifyEventProof(bundle: EventProofBundle, options: VerifyOptions = {}): VerifyResult {
  try {
    return verifyUnchecked(bundle, options);
  } catch (e) {
    if (e instanceof DecodeError) return fail({ check: 'malformed', field: e.field, reason: e.reason });
    const reason = e instanceof Error ? e.message : String(e);
    return fail({ check: 'malformed', field: 'bundle', reason });
  }
}

function verifyUnchecked(bundle: EventProofBundle, options: VerifyOptions): VerifyResult {
  const headerBytes = fromHex(bundle.headerHex, 'headerHex');
  const header = decodeBlockHeader(headerBytes);
  const receiptBytes = fromHex(bundle.receiptHex, 'receiptHex');
  const receipt = decodeReceipt(receiptBytes);
  const receiptProof = parseProof(bundle.receiptProof, 'receiptProof');
  const txProof = bundle.txProof ? parseProof(bundle.txProof, 'txProof') : null;
  const certificate = bundle.certificate ? parseCertificate(bundle.certificate) : null;
  const validators = parseValidators(bundle.validators);

  if (options.chainId !== undefined && header.chainId !== options.chainId) {
    return fail({ check: 'chain_id', expected: options.chainId, got: header.chainId });
  }
  if (receipt.outcome.status === 'failed') {
    return fail({ check: 'receipt_failed', code: receipt.outcome.code });
  }
  if (!receipt.events.some((e) => eventAttribute(e, 'hash') === bundle.eventHash)) {
    return fail({ check: 'event_not_in_receipt', eventHash: bundle.eventHash });
  }
  if (receipt.height !== header.height) {
    return fail({ check: 'receipt_height', expected: header.height, got: receipt.height });
  }
  if (receiptProof.index !== receipt.index) {
    return fail({ check: 'receipt_index', expected: receipt.index, got: receiptProof.index });
  }
  if (!verifyMerkleProof(receiptProof, receiptHash(receiptBytes), header.receiptsRoot)) {
    return fail({ check: 'receipt_proof' });
  }
  if (txProof && (txProof.index !== receipt.index || !verifyMerkleProof(txProof, receipt.txId, header.txRoot))) {
    return fail({ check: 'tx_proof' });
  }
  if (certificate === null) return fail({ check: 'certificate_missing' });
  const hash = blockHash(headerBytes);
  const cert = verifyCertificate(
    header.height,
    hash,
    certificate,
    validators,
    options.signingBytes ?? precommitSigningBytes,
  );
  if (!cert.ok) {
    const { ok: _ok, ...failure } = cert;
    return fail(failure);
  }
  return {
    verified: true,
    chainId: header.chainId,
    height: header.height,
    timeMs: header.timeMs,
    blockHash: toHex(hash),
    txId: toHex(receipt.txId),
    signers: cert.signers,
    signedPower: cert.signedPower,
    totalPower: cert.totalPower,
  };
}
