/**
 * Typed access to `__fixtures__/chain-proof.json`, written by the Rust test
 * tests/tests/ui_verify_fixture.rs from a real chain on RocksDB. Test-only.
 */
import raw from './__fixtures__/chain-proof.json';
import type { EventProofBundle, WireMerkleProof } from '@scf/sdk/verify';

interface RawProof {
  index: number;
  count: number;
  steps: { sibling: string; sibling_on_left: boolean }[];
}

interface RawFixture {
  chain_id: string;
  validators: { name: string; public_key: string; power: number; address: string }[];
  block: {
    header_hex: string;
    header: {
      chain_id: string;
      height: number;
      parent_hash: string;
      tx_root: string;
      receipts_root: string;
      state_root: string;
      time_ms: number;
      proposer: string;
    };
    hash: string;
    certificate: {
      height: number;
      round: number;
      block_hash: string;
      signatures: { validator: string; signature: string }[];
    };
    precommit_signing_bytes_hex: string;
  };
  events: {
    event_hash: string;
    recorded_by: string;
    tx_id: string;
    receipt_hex: string;
    receipt_hash: string;
    receipt_proof: RawProof;
    tx_proof: RawProof;
  }[];
  sm2_vector: { public_key: string; message_hex: string; signature: string };
  merkle_vectors: { items: string[]; root: string; proofs: RawProof[] }[];
}

export const fixture = raw as RawFixture;

export function wireProof(p: RawProof): WireMerkleProof {
  return {
    index: p.index,
    count: p.count,
    steps: p.steps.map((s) => ({ sibling: s.sibling, siblingOnLeft: s.sibling_on_left })),
  };
}

/** The bundle the API would serve for the fixture's `i`-th event. */
export function fixtureBundle(i: number): EventProofBundle {
  const e = fixture.events[i];
  if (!e) throw new Error(`fixture has no event ${i}`);
  const c = fixture.block.certificate;
  return {
    eventHash: e.event_hash,
    receiptHex: e.receipt_hex,
    receiptProof: wireProof(e.receipt_proof),
    txProof: wireProof(e.tx_proof),
    headerHex: fixture.block.header_hex,
    certificate: {
      height: c.height,
      round: c.round,
      blockHash: c.block_hash,
      signatures: c.signatures.map((s) => ({ validator: s.validator, signature: s.signature })),
    },
    validators: fixture.validators.map((v) => ({ name: v.name, publicKey: v.public_key, power: v.power })),
  };
}
