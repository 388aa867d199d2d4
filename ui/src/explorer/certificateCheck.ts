import type { BlockQuery } from '../api/generated';
import { blockHash, decodeBlockHeader, fromHex, toHex, verifyCertificate, type VerifyFailure } from '../verify';

type BlockData = BlockQuery['block'];
type ValidatorData = BlockQuery['validators'][number];

export type CertificateVerdict =
  | { ok: true; signers: string[]; signedPower: bigint; totalPower: bigint }
  | { ok: false; failure: VerifyFailure }
  | { ok: 'none' };

/**
 * Check a block's finality in the browser: decode the header from its canonical bytes, recompute the block
 * hash, and verify the certificate's SM2 precommits against the block's validator set (> 2/3 of the power).
 * Nothing the server decoded is trusted.
 */
export function checkBlockCertificate(block: BlockData, validators: readonly ValidatorData[]): CertificateVerdict {
  if (!block.certificate || !block.header) return { ok: 'none' };
  try {
    const bytes = fromHex(block.header.encoded, 'header');
    const header = decodeBlockHeader(bytes);
    const hash = blockHash(bytes);
    if (header.height !== BigInt(block.height)) return { ok: false, failure: { check: 'certificate_height', expected: BigInt(block.height), got: header.height } };
    const claimed = block.hash.replace(/^0x/, '').toLowerCase();
    if (toHex(hash) !== claimed) return { ok: false, failure: { check: 'certificate_block_hash', expected: claimed, got: toHex(hash) } };
    const c = block.certificate;
    const r = verifyCertificate(
      header.height,
      hash,
      {
        height: BigInt(c.height),
        round: c.round,
        blockHash: fromHex(c.blockHash, 'certificate.blockHash'),
        signatures: c.signatures.map((s) => ({ validator: fromHex(s.validator, 'validator'), signature: fromHex(s.signature, 'signature') })),
      },
      validators.map((v) => ({ name: v.name, publicKey: fromHex(v.publicKey, 'publicKey'), power: BigInt(v.power) })),
    );
    if (r.ok) return { ok: true, signers: r.signers, signedPower: r.signedPower, totalPower: r.totalPower };
    const { ok: _ok, ...failure } = r;
    return { ok: false, failure };
  } catch (e) {
    return { ok: false, failure: { check: 'malformed', field: 'header', reason: e instanceof Error ? e.message : String(e) } };
  }
}
