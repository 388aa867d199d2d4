/**
 * The SDK against the ledger's own vectors (sdk/testdata/vectors.json, written by
 * graphql/tests/sdk_vectors.rs): call payloads and transaction bodies encode to exactly the ledger's
 * bytes, the ledger's SM2 signatures verify here, this SDK's signatures verify with the same check, and
 * webhook signatures made by the server verify.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import {
  Sm2Key,
  encodeSignedTx,
  encodeTxBody,
  epochDays,
  fromHex,
  signTx,
  signingBytes,
  toHex,
  txId,
  utf8,
  verifySm2,
  verifyWebhook,
  voucher,
  webhookSignedBytes,
  type TxBody,
} from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const v = JSON.parse(readFileSync(join(here, '../../testdata/vectors.json'), 'utf8'));

const issue = v.calls.voucherIssue.call.Issue;
const issueCall = voucher.issue({
  voucherNo: issue.voucherNo,
  to: issue.to,
  amount: BigInt(issue.amount),
  currency: issue.currency,
  dueDate: issue.dueDate,
  contractRef: issue.contractRef,
  invoices: issue.invoices,
  allowOverSixMonths: issue.allowOverSixMonths,
});

function body(): TxBody {
  return {
    chainId: v.tx.chainId,
    sender: fromHex(v.key.public),
    nonce: BigInt(v.tx.nonce),
    expiryHeight: BigInt(v.tx.expiryHeight),
    call: issueCall,
  };
}

describe('ledger vectors', () => {
  it('derives the public key and address from the secret', () => {
    const k = Sm2Key.fromSecretHex(v.key.secret);
    expect(k.publicKeyHex).toBe(v.key.public);
    expect(k.address).toBe(v.key.address);
  });

  it('encodes call payloads as the domain does', () => {
    expect(epochDays(issue.dueDate)).toBe(issue.dueDays);
    expect(toHex(issueCall.payload)).toBe(v.calls.voucherIssue.payload);
    expect(toHex(voucher.signFor(v.calls.voucherSignFor.call.SignFor.voucherId).payload)).toBe(v.calls.voucherSignFor.payload);
  });

  it('encodes the body, signing bytes and id exactly', () => {
    expect(toHex(encodeTxBody(body()))).toBe(v.tx.body);
    expect(toHex(signingBytes(body()))).toBe(v.tx.signingBytes);
    expect(txId(body())).toBe(v.tx.id);
  });

  it('verifies the ledger signature and encodes the signed transaction', () => {
    const sig = fromHex(v.tx.signature);
    expect(verifySm2(fromHex(v.key.public), fromHex(v.tx.signingBytes), sig)).toBe(true);
    expect(toHex(encodeSignedTx({ body: body(), signature: sig }))).toBe(v.tx.signed);
    const tampered = fromHex(v.tx.signingBytes);
    tampered[tampered.length - 1] ^= 1;
    expect(verifySm2(fromHex(v.key.public), tampered, sig)).toBe(false);
  });

  it('signs so the same check accepts it', () => {
    const k = Sm2Key.fromSecretHex(v.key.secret);
    const tx = signTx(body(), k);
    expect(tx.signature.length).toBe(64);
    expect(verifySm2(k.publicKey, signingBytes(body()), tx.signature)).toBe(true);
    const other = Sm2Key.generate();
    expect(verifySm2(other.publicKey, signingBytes(body()), tx.signature)).toBe(false);
    expect(() => signTx(body(), other)).toThrow(/sender/);
  });
});

describe('webhooks', () => {
  const w = v.webhook;
  const headers = {
    'SCF-Webhook-Id': w.id,
    'scf-webhook-timestamp': String(w.timestamp),
    'scf-webhook-signature': w.signature,
  };

  it('builds the signed bytes', () => {
    expect(toHex(webhookSignedBytes(w.id, w.timestamp, utf8(w.body)))).toBe(w.signedBytes);
  });

  it('verifies a server signature and refuses tampering', () => {
    const d = verifyWebhook(headers, utf8(w.body), w.publicKey, { now: w.timestamp });
    expect(d.kind).toBe('WORKFLOW_TASK');
    expect(() => verifyWebhook(headers, utf8(w.body.replace('HSFACTOR', 'HSFACT0R')), w.publicKey, { now: w.timestamp })).toThrow(
      /does not verify/,
    );
    expect(() => verifyWebhook({ ...headers, 'SCF-Webhook-Id': 'other' }, utf8(w.body), w.publicKey, { now: w.timestamp })).toThrow(
      /does not verify/,
    );
    expect(() => verifyWebhook({ ...headers, 'scf-webhook-id': 'other' }, utf8(w.body), w.publicKey, { now: w.timestamp })).toThrow(
      /given more than once/,
    );
    expect(() => verifyWebhook(headers, utf8(w.body), w.publicKey, { now: w.timestamp + 3_600_000 })).toThrow(/from now/);
    expect(() => verifyWebhook({}, utf8(w.body), w.publicKey)).toThrow(/missing/);
  });
});
