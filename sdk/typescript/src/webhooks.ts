/**
 * Webhook signature checks. Each delivery is signed by the member running the API with SM2 (SM3, ID
 * 1234567812345678) over `"SCF-WEBHOOK-v1\n" ‖ id ‖ "\n" ‖ timestamp ‖ "\n" ‖ body`, where id and timestamp
 * are the `scf-webhook-id` and `scf-webhook-timestamp` headers and body the exact bytes received; the
 * signature is `scf-webhook-signature: sm2=<hex r‖s>`. The public key is at `GET /webhooks/signing-key`.
 */
import { concat, fromHex, utf8 } from './verify/bytes.js';
import { verifySm2 } from './verify/sm2.js';

export const WEBHOOK_SIGNING_PREFIX = 'SCF-WEBHOOK-v1';

export type WebhookKind =
  | 'VOUCHER'
  | 'FINANCING_DECISION'
  | 'INVOICE_BOOKING'
  | 'RECEIPT_PLEDGE'
  | 'IOT_ALERT'
  | 'WORKFLOW_TASK';

/** A delivery's body. */
export interface WebhookDelivery {
  /** The same for every attempt of one event to one endpoint: deduplicate on it. */
  id: string;
  kind: WebhookKind;
  org: string;
  endpointId: string;
  event: {
    id: number;
    height: number;
    txId: string;
    module: string;
    kind: string;
    attributes: [string, string][];
    data: unknown;
  };
}

export function webhookSignedBytes(id: string, timestampMs: string | number, body: Uint8Array): Uint8Array {
  return concat(utf8(`${WEBHOOK_SIGNING_PREFIX}\n${id}\n${timestampMs}\n`), body);
}

export interface VerifyWebhookOptions {
  /** Refuse deliveries whose timestamp is further than this from now (ms); default 5 minutes. */
  maxSkewMs?: number;
  now?: number;
}

/**
 * Check a delivery; returns its parsed body, or throws naming what is wrong. `headers` keys are matched
 * case-insensitively.
 */
export function verifyWebhook(
  headers: Record<string, string | string[] | undefined>,
  body: Uint8Array,
  publicKeyHex: string,
  opts: VerifyWebhookOptions = {},
): WebhookDelivery {
  const h = (name: string): string => {
    // Two spellings of one header (a hand-built object) would leave it open which one was signed.
    const keys = Object.keys(headers).filter((k) => k.toLowerCase() === name && headers[k] !== undefined);
    if (keys.length > 1) throw new Error(`${name}: given more than once`);
    const v = keys[0] === undefined ? undefined : headers[keys[0]];
    if (Array.isArray(v) && v.length > 1) throw new Error(`${name}: given more than once`);
    const s = Array.isArray(v) ? v[0] : v;
    if (s === undefined) throw new Error(`${name}: missing`);
    return s;
  };
  const id = h('scf-webhook-id');
  const ts = h('scf-webhook-timestamp');
  if (!/^\d{1,16}$/.test(ts)) throw new Error('scf-webhook-timestamp: not milliseconds');
  const skew = Math.abs((opts.now ?? Date.now()) - Number(ts));
  if (skew > (opts.maxSkewMs ?? 300_000)) throw new Error(`scf-webhook-timestamp: ${skew} ms from now`);
  const sig = h('scf-webhook-signature');
  const m = /^sm2=([0-9a-f]{128})$/.exec(sig);
  if (!m) throw new Error('scf-webhook-signature: expected sm2=<128 hex digits>');
  const ok = verifySm2(fromHex(publicKeyHex), webhookSignedBytes(id, ts, body), fromHex(m[1]!));
  if (!ok) throw new Error('scf-webhook-signature: does not verify');
  const parsed = JSON.parse(new TextDecoder().decode(body)) as WebhookDelivery;
  if (parsed.id !== id) throw new Error('body.id: differs from scf-webhook-id');
  return parsed;
}
