/**
 * The ledger's SM3 binary Merkle tree, mirroring `core-chain/ledger/src/merkle.rs` exactly (RFC 6962 shape):
 * leaf = SM3(0x00 ‖ item), node = SM3(0x01 ‖ left ‖ right), an odd last node is promoted unchanged, the empty
 * tree's root is SM3(""). A proof lists siblings bottom-up with their side; the verifier recomputes the path
 * shape from (index, count), so a proof cannot claim a different position.
 */
import { equalBytes } from './bytes.js';
import { sm3, sm3Parts } from './sm3.js';

const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);

export interface ProofStep {
  sibling: Uint8Array;
  siblingOnLeft: boolean;
}

export interface MerkleProof {
  index: number;
  count: number;
  steps: ProofStep[];
}

export function leafHash(item: Uint8Array): Uint8Array {
  return sm3Parts(LEAF, item);
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sm3Parts(NODE, left, right);
}

function nextLevel(level: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < level.length; i += 2) {
    const r = level[i + 1];
    out.push(r === undefined ? level[i]! : nodeHash(level[i]!, r));
  }
  return out;
}

/** Root over `items` in order. */
export function merkleRoot(items: Uint8Array[]): Uint8Array {
  if (items.length === 0) return sm3(new Uint8Array());
  let level = items.map(leafHash);
  while (level.length > 1) level = nextLevel(level);
  return level[0]!;
}

/** Proof for `items[index]`, or `null` if out of range. */
export function merkleProof(items: Uint8Array[], index: number): MerkleProof | null {
  if (!Number.isInteger(index) || index < 0 || index >= items.length) return null;
  const steps: ProofStep[] = [];
  let level = items.map(leafHash);
  let i = index;
  while (level.length > 1) {
    const sib = sibling(i);
    if (sib < level.length) steps.push({ sibling: level[sib]!, siblingOnLeft: sib < i });
    level = nextLevel(level);
    i = Math.floor(i / 2);
  }
  return { index, count: items.length, steps };
}

/** `i ^ 1` without 32-bit signed bitwise arithmetic (indexes go up to 2^32 − 1). */
function sibling(i: number): number {
  return i % 2 === 0 ? i + 1 : i - 1;
}

const U32_MAX = 0xffff_ffff;

/** True if `item` is at `proof.index` of `proof.count` items under `root`. */
export function verifyMerkleProof(proof: MerkleProof, item: Uint8Array, root: Uint8Array): boolean {
  const { index, count, steps } = proof;
  if (!Number.isInteger(index) || !Number.isInteger(count) || index < 0 || count > U32_MAX) return false;
  if (index >= count) return false;
  let h = leafHash(item);
  let i = index;
  let n = count;
  let k = 0;
  while (n > 1) {
    const sib = sibling(i);
    if (sib < n) {
      const step = steps[k++];
      if (step === undefined) return false;
      if (step.siblingOnLeft !== sib < i) return false;
      if (step.sibling.length !== 32) return false;
      h = step.siblingOnLeft ? nodeHash(step.sibling, h) : nodeHash(h, step.sibling);
    }
    i = Math.floor(i / 2);
    n = Math.ceil(n / 2);
  }
  return k === steps.length && equalBytes(h, root);
}
