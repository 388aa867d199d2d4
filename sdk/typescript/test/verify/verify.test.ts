import { describe, expect, it } from 'vitest';

import { fromHex, toHex, utf8 } from '../../src/verify/bytes.js';
import { fixture, fixtureBundle, wireProof } from './fixture.js';
import {
  addressOf,
  blockHash,
  decodeBlockHeader,
  decodeReceipt,
  merkleProof,
  merkleRoot,
  precommitSigningBytes,
  receiptHash,
  sm3,
  verifyEventProof,
  verifyMerkleProof,
  verifySm2,
  type EventProofBundle,
  type MerkleProof,
  type VerifyResult,
} from '../../src/verify/index.js';

function proofFromWire(p: ReturnType<typeof wireProof>): MerkleProof {
  return { index: p.index, count: p.count, steps: p.steps.map((s) => ({ sibling: fromHex(s.sibling), siblingOnLeft: s.siblingOnLeft })) };
}

/** Flip one bit of byte `i` of a hex string. */
function flipHexByte(hex: string, i: number): string {
  const b = fromHex(hex);
  b[i] = b[i]! ^ 0x01;
  return toHex(b);
}

function failureOf(r: VerifyResult): string {
  return r.verified ? 'verified' : r.failure.check;
}

describe('SM3', () => {
  it('matches the GB/T 32905 test vector', () => {
    expect(toHex(sm3(utf8('abc')))).toBe('66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0');
  });
});

describe('Merkle tree (same roots and proofs as core-chain/ledger/src/merkle.rs)', () => {
  it('computes the Rust roots and proofs for 0..=9 items and verifies every proof', () => {
    expect(fixture.merkle_vectors).toHaveLength(10);
    for (const v of fixture.merkle_vectors) {
      const items = v.items.map((h) => fromHex(h));
      const root = merkleRoot(items);
      expect(toHex(root)).toBe(v.root);
      v.proofs.forEach((raw, i) => {
        const rust = proofFromWire(wireProof(raw));
        const ours = merkleProof(items, i);
        expect(ours).not.toBeNull();
        expect(ours!.steps.map((s) => [toHex(s.sibling), s.siblingOnLeft])).toEqual(
          rust.steps.map((s) => [toHex(s.sibling), s.siblingOnLeft]),
        );
        expect(verifyMerkleProof(rust, items[i]!, root)).toBe(true);
      });
    }
  });

  it('refuses a proof moved to another index, a wrong item, a flipped side or an extra step', () => {
    const v = fixture.merkle_vectors[7]!;
    const items = v.items.map((h) => fromHex(h));
    const root = fromHex(v.root);
    const p = proofFromWire(wireProof(v.proofs[2]!));
    expect(verifyMerkleProof(p, items[2]!, root)).toBe(true);
    expect(verifyMerkleProof({ ...p, index: 3 }, items[2]!, root)).toBe(false);
    // Count 8 has the same path shape for index 2 as 7 (Rust accepts it too); count 3 does not.
    expect(verifyMerkleProof({ ...p, count: 3 }, items[2]!, root)).toBe(false);
    expect(verifyMerkleProof(p, items[3]!, root)).toBe(false);
    expect(verifyMerkleProof({ ...p, steps: p.steps.map((s, i) => (i === 0 ? { ...s, siblingOnLeft: !s.siblingOnLeft } : s)) }, items[2]!, root)).toBe(false);
    expect(verifyMerkleProof({ ...p, steps: [...p.steps, p.steps[0]!] }, items[2]!, root)).toBe(false);
    expect(verifyMerkleProof({ ...p, steps: p.steps.slice(1) }, items[2]!, root)).toBe(false);
    expect(toHex(merkleRoot([]))).toBe(toHex(sm3(new Uint8Array())));
    expect(merkleProof([], 0)).toBeNull();
  });
});

describe('ledger objects from the fixture chain', () => {
  it('decodes the block header and recomputes its hash', () => {
    const bytes = fromHex(fixture.block.header_hex);
    const h = decodeBlockHeader(bytes);
    const want = fixture.block.header;
    expect(h.chainId).toBe(want.chain_id);
    expect(h.height).toBe(BigInt(want.height));
    expect(toHex(h.parentHash)).toBe(want.parent_hash);
    expect(toHex(h.txRoot)).toBe(want.tx_root);
    expect(toHex(h.receiptsRoot)).toBe(want.receipts_root);
    expect(toHex(h.stateRoot)).toBe(want.state_root);
    expect(h.timeMs).toBe(BigInt(want.time_ms));
    expect(toHex(h.proposer)).toBe(want.proposer);
    expect(toHex(blockHash(bytes))).toBe(fixture.block.hash);
    expect(() => decodeBlockHeader(fromHex(fixture.block.header_hex + '00'))).toThrow(/trailing/);
    expect(() => decodeBlockHeader(fromHex(fixture.block.header_hex.slice(0, -2)))).toThrow(/ends/);
  });

  it('decodes each receipt, finds the anchored event hash and recomputes the receipt hash', () => {
    expect(fixture.events.length).toBeGreaterThanOrEqual(5);
    for (const e of fixture.events) {
      const bytes = fromHex(e.receipt_hex);
      const r = decodeReceipt(bytes);
      expect(toHex(r.txId)).toBe(e.tx_id);
      expect(r.outcome).toEqual({ status: 'success' });
      expect(r.events.some((ev) => ev.attributes.some(([k, v]) => k === 'hash' && v === e.event_hash))).toBe(true);
      expect(toHex(receiptHash(bytes))).toBe(e.receipt_hash);
    }
  });

  it('builds the precommit bytes the validator signed and derives validator addresses', () => {
    const c = fixture.block.certificate;
    const sig = c.signatures[0]!;
    expect(toHex(precommitSigningBytes(BigInt(c.height), c.round, fromHex(c.block_hash), fromHex(sig.validator)))).toBe(
      fixture.block.precommit_signing_bytes_hex,
    );
    for (const v of fixture.validators) expect(toHex(addressOf(fromHex(v.public_key)))).toBe(v.address);
  });
});

describe('SM2 (default ID 1234567812345678, raw r‖s)', () => {
  const { public_key, message_hex, signature } = fixture.sm2_vector;
  it('verifies a signature made by the Rust ledger', () => {
    expect(verifySm2(fromHex(public_key), fromHex(message_hex), fromHex(signature))).toBe(true);
  });
  it('refuses a changed message, signature or key, and malformed keys without throwing', () => {
    expect(verifySm2(fromHex(public_key), fromHex(flipHexByte(message_hex, 0)), fromHex(signature))).toBe(false);
    expect(verifySm2(fromHex(public_key), fromHex(message_hex), fromHex(flipHexByte(signature, 40)))).toBe(false);
    expect(verifySm2(fromHex(flipHexByte(public_key, 64)), fromHex(message_hex), fromHex(signature))).toBe(false);
    expect(verifySm2(new Uint8Array(65), fromHex(message_hex), fromHex(signature))).toBe(false);
    expect(verifySm2(fromHex(public_key).slice(0, 64), fromHex(message_hex), fromHex(signature))).toBe(false);
    expect(verifySm2(fromHex(public_key), fromHex(message_hex), new Uint8Array(64))).toBe(false);
  });
});

describe('verifyEventProof on the fixture chain', () => {
  it('verifies every anchored event up to the commit certificate', () => {
    fixture.events.forEach((e, i) => {
      const r = verifyEventProof(fixtureBundle(i), { chainId: fixture.chain_id });
      expect(r).toMatchObject({ verified: true, height: BigInt(fixture.block.header.height), blockHash: fixture.block.hash, txId: e.tx_id });
      if (r.verified) expect(r.signers).toEqual(fixture.validators.map((v) => v.name));
    });
  });

  const b = fixtureBundle(2);

  it('fails when any character of the event hash changes', () => {
    for (let i = 0; i < b.eventHash.length; i++) {
      const c = b.eventHash[i] === 'a' ? 'b' : 'a';
      const r = verifyEventProof({ ...b, eventHash: b.eventHash.slice(0, i) + c + b.eventHash.slice(i + 1) });
      expect(failureOf(r), `event hash char ${i}`).toBe('event_not_in_receipt');
    }
  });

  it('fails when any byte of the receipt changes', () => {
    const n = b.receiptHex.length / 2;
    for (let i = 0; i < n; i++) {
      expect(failureOf(verifyEventProof({ ...b, receiptHex: flipHexByte(b.receiptHex, i) })), `receipt byte ${i}`).not.toBe('verified');
    }
  });

  it('fails when any byte of a receipt or tx proof sibling changes', () => {
    const { receiptProof, txProof } = b;
    expect(receiptProof.steps.length).toBeGreaterThanOrEqual(2);
    receiptProof.steps.forEach((s, k) => {
      for (let i = 0; i < 32; i++) {
        const steps = receiptProof.steps.map((t, j) => (j === k ? { ...t, sibling: flipHexByte(s.sibling, i) } : t));
        expect(failureOf(verifyEventProof({ ...b, receiptProof: { ...receiptProof, steps } }))).toBe('receipt_proof');
      }
    });
    txProof!.steps.forEach((s, k) => {
      const steps = txProof!.steps.map((t, j) => (j === k ? { ...t, sibling: flipHexByte(s.sibling, 7) } : t));
      expect(failureOf(verifyEventProof({ ...b, txProof: { ...txProof!, steps } }))).toBe('tx_proof');
    });
  });

  it('fails when any byte of the header changes', () => {
    const n = b.headerHex.length / 2;
    for (let i = 0; i < n; i++) {
      expect(failureOf(verifyEventProof({ ...b, headerHex: flipHexByte(b.headerHex, i) })), `header byte ${i}`).not.toBe('verified');
    }
  });

  it('fails on a bad certificate: signature, round, missing, unknown signer, duplicate, too little power', () => {
    const cert = b.certificate!;
    const sig0 = cert.signatures[0]!;
    const withSigs = (signatures: typeof cert.signatures): EventProofBundle => ({ ...b, certificate: { ...cert, signatures } });
    expect(failureOf(verifyEventProof(withSigs([{ ...sig0, signature: flipHexByte(sig0.signature, 63) }])))).toBe('bad_signature');
    expect(failureOf(verifyEventProof({ ...b, certificate: { ...cert, round: cert.round + 1 } }))).toBe('bad_signature');
    expect(failureOf(verifyEventProof({ ...b, certificate: { ...cert, height: Number(cert.height) + 1 } }))).toBe('certificate_height');
    expect(failureOf(verifyEventProof({ ...b, certificate: { ...cert, blockHash: flipHexByte(cert.blockHash, 0) } }))).toBe('certificate_block_hash');
    expect(failureOf(verifyEventProof({ ...b, certificate: null }))).toBe('certificate_missing');
    expect(failureOf(verifyEventProof(withSigs([{ ...sig0, validator: flipHexByte(sig0.validator, 0) }])))).toBe('unknown_validator');
    expect(failureOf(verifyEventProof(withSigs([sig0, sig0])))).toBe('duplicate_validator');
    expect(failureOf(verifyEventProof(withSigs([])))).toBe('insufficient_power');
    // Another validator with as much power joins the set: one signature of two is not more than 2/3.
    const other = fixture.sm2_vector.public_key;
    expect(failureOf(verifyEventProof({ ...b, validators: [...b.validators, { name: 'v1', publicKey: other, power: 1 }] }))).toBe('insufficient_power');
    // The validator set is what the certificate is checked against: a different key fails.
    expect(failureOf(verifyEventProof({ ...b, validators: [{ name: 'v0', publicKey: other, power: 1 }] }))).toBe('unknown_validator');
  });

  it('refuses another chain, a moved proof and malformed input without throwing', () => {
    expect(verifyEventProof(b, { chainId: 'other-chain' })).toMatchObject({ verified: false, failure: { check: 'chain_id' } });
    expect(failureOf(verifyEventProof({ ...b, receiptProof: { ...b.receiptProof, index: b.receiptProof.index + 1 } }))).toBe('receipt_index');
    expect(failureOf(verifyEventProof({ ...b, receiptHex: 'zz' }))).toBe('malformed');
    expect(failureOf(verifyEventProof({ ...b, headerHex: '' }))).toBe('malformed');
    expect(failureOf(verifyEventProof({ ...b, validators: [{ name: 'x', publicKey: '04', power: 1 }] }))).toBe('malformed');
    expect(failureOf(verifyEventProof({ ...b, receiptProof: { index: 0, count: 1, steps: null as never } }))).toBe('malformed');
  });

  it('uses a pluggable signing-bytes function for certificate signatures', () => {
    expect(failureOf(verifyEventProof(b, { signingBytes: () => utf8('something else') }))).toBe('bad_signature');
    expect(failureOf(verifyEventProof(b, { signingBytes: precommitSigningBytes }))).toBe('verified');
  });
});
