import { describe, expect, it } from 'vitest';

import type { BlockQuery } from '../api/generated';
import { fixture } from '../verify/fixture';
import { checkBlockCertificate } from './certificateCheck';
import { shortHash } from './format';

/** The fixture chain's block as the API's `block` + `validators` would serve it. */
function fixtureBlock(): { block: BlockQuery['block']; validators: BlockQuery['validators'] } {
  const b = fixture.block;
  const h = b.header;
  return {
    block: {
      height: h.height,
      hash: b.hash,
      parentHash: h.parent_hash,
      stateRoot: h.state_root,
      timeMs: h.time_ms,
      proposer: h.proposer,
      txCount: fixture.events.length,
      transactions: [],
      header: { chainId: h.chain_id, height: h.height, txRoot: h.tx_root, receiptsRoot: h.receipts_root, encoded: b.header_hex },
      certificate: {
        height: b.certificate.height,
        round: b.certificate.round,
        blockHash: b.certificate.block_hash,
        signedPower: 1,
        totalPower: 1,
        signatures: b.certificate.signatures.map((s) => ({ validator: s.validator, validatorName: null, signature: s.signature })),
      },
    },
    validators: fixture.validators.map((v) => ({ name: v.name, address: v.address, publicKey: v.public_key, power: v.power, peerId: null })),
  };
}

const flip = (hex: string, at: number) => hex.slice(0, at) + ((parseInt(hex[at]!, 16) ^ 1).toString(16)) + hex.slice(at + 1);

describe('block finality certificate, checked in the browser', () => {
  it('verifies the real chain’s certificate against its validator set', () => {
    const { block, validators } = fixtureBlock();
    const v = checkBlockCertificate(block, validators);
    expect(v).toMatchObject({ ok: true });
    if (v.ok === true) expect(v.signers).toEqual(fixture.validators.map((x) => x.name));
  });
  it('fails on a changed header byte, a changed signature, or an unknown validator set', () => {
    const a = fixtureBlock();
    a.block.header!.encoded = flip(a.block.header!.encoded, 20);
    expect(checkBlockCertificate(a.block, a.validators)).toMatchObject({ ok: false });

    const b = fixtureBlock();
    const sig = b.block.certificate!.signatures[0]!;
    sig.signature = flip(sig.signature, 10);
    expect(checkBlockCertificate(b.block, b.validators)).toMatchObject({ ok: false, failure: { check: 'bad_signature' } });

    const c = fixtureBlock();
    expect(checkBlockCertificate(c.block, [])).toMatchObject({ ok: false, failure: { check: 'unknown_validator' } });
  });
  it('says so when a block has no certificate', () => {
    const { block, validators } = fixtureBlock();
    expect(checkBlockCertificate({ ...block, certificate: null }, validators)).toEqual({ ok: 'none' });
  });
  it('shortens hashes for tables', () => {
    expect(shortHash('0123456789abcdef0123456789abcdef')).toBe('01234567…89abcdef');
    expect(shortHash('abc')).toBe('abc');
  });
});
