/**
 * Ledger objects the browser checks, decoded from their canonical Borsh bytes (see docs/ledger-format.md and
 * `core-chain/ledger/src/{block,receipt,module}.rs`). Hashes are recomputed from the bytes, never taken from
 * the server's decoded fields.
 */
import { BorshReader } from './borsh.js';
import { toHex, utf8 } from './bytes.js';
import { sm3, sm3Parts } from './sm3.js';

/** `BLOCK_HASH_PREFIX` in block.rs. */
export const BLOCK_HASH_PREFIX = utf8('SCF-BLOCK-v1');
/** Receipts are far smaller than blocks; this bounds what the browser will parse. */
export const MAX_RECEIPT_BYTES = 1024 * 1024;
export const MAX_HEADER_BYTES = 4096;

export interface BlockHeader {
  chainId: string;
  height: bigint;
  parentHash: Uint8Array;
  txRoot: Uint8Array;
  receiptsRoot: Uint8Array;
  stateRoot: Uint8Array;
  timeMs: bigint;
  proposer: Uint8Array;
}

export interface LedgerEvent {
  module: string;
  kind: string;
  attributes: [string, string][];
  data: string;
}

export type TxOutcome = { status: 'success' } | { status: 'failed'; code: string; message: string };

export interface Receipt {
  txId: Uint8Array;
  height: bigint;
  index: number;
  sender: Uint8Array;
  module: string;
  outcome: TxOutcome;
  events: LedgerEvent[];
}

function checkSize(bytes: Uint8Array, max: number, what: string): void {
  if (bytes.length > max) {
    throw new RangeError(`${what}: ${bytes.length} bytes exceeds the limit of ${max}`);
  }
}

export function decodeBlockHeader(bytes: Uint8Array): BlockHeader {
  checkSize(bytes, MAX_HEADER_BYTES, 'header');
  const r = new BorshReader(bytes, 'header');
  const header: BlockHeader = {
    chainId: r.string('chain_id'),
    height: r.u64('height'),
    parentHash: r.fixed(32, 'parent_hash'),
    txRoot: r.fixed(32, 'tx_root'),
    receiptsRoot: r.fixed(32, 'receipts_root'),
    stateRoot: r.fixed(32, 'state_root'),
    timeMs: r.u64('time_ms'),
    proposer: r.fixed(20, 'proposer'),
  };
  r.end();
  return header;
}

/** Block hash: SM3("SCF-BLOCK-v1" ‖ borsh(header)), computed over the header's bytes as received. */
export function blockHash(headerBytes: Uint8Array): Uint8Array {
  return sm3Parts(BLOCK_HASH_PREFIX, headerBytes);
}

export function decodeReceipt(bytes: Uint8Array): Receipt {
  checkSize(bytes, MAX_RECEIPT_BYTES, 'receipt');
  const r = new BorshReader(bytes, 'receipt');
  const txId = r.fixed(32, 'tx_id');
  const height = r.u64('height');
  const index = r.u32('index');
  const sender = r.fixed(20, 'sender');
  const module = r.string('module');
  const outcome: TxOutcome =
    r.tag('outcome', 2) === 0
      ? { status: 'success' }
      : { status: 'failed', code: r.string('outcome.code'), message: r.string('outcome.message') };
  const events = r.vec('events', (e, i) => ({
    module: e.string(`events[${i}].module`),
    kind: e.string(`events[${i}].kind`),
    attributes: e.vec(`events[${i}].attributes`, (a, j): [string, string] => [
      a.string(`events[${i}].attributes[${j}].0`),
      a.string(`events[${i}].attributes[${j}].1`),
    ]),
    data: e.string(`events[${i}].data`),
  }));
  r.end();
  return { txId, height, index, sender, module, outcome, events };
}

/** The leaf committed under a header's receipts root: SM3(borsh(receipt)). */
export function receiptHash(receiptBytes: Uint8Array): Uint8Array {
  return sm3(receiptBytes);
}

export function eventAttribute(event: LedgerEvent, name: string): string | undefined {
  return event.attributes.find(([k]) => k === name)?.[1];
}

/** Address of an SM2 public key: the first 20 bytes of SM3(65-byte SEC1 key). */
export function addressOf(publicKey: Uint8Array): Uint8Array {
  return sm3(publicKey).slice(0, 20);
}

export function addressHex(publicKey: Uint8Array): string {
  return toHex(addressOf(publicKey));
}
