/**
 * `@scf/sdk`: a client for the scf consortium chain's API (GraphQL, EPCIS 2.0 REST, the GS1 resolver),
 * self-signed transactions (SM2 keys the client holds, Borsh bodies per docs/ledger-format.md), webhook
 * signature checks, and the offline verifier of proof bundles and commit certificates (`@scf/sdk/verify`,
 * which the web UI uses too).
 */
export { BorshReader, BorshWriter, DecodeError } from './borsh.js';
export { voucher, epochDays } from './calls.js';
export type { IssueVoucher } from './calls.js';
export { ScfClient, ScfError } from './client.js';
export type {
  ApplyFinancingInput,
  CaptureJob,
  ClientOptions,
  DryRunResult,
  EpcisEvent,
  FinancingApplication,
  IssueInvoiceInput,
  IssueVoucherInput,
  Task,
  TxResult,
  WebhookEndpoint,
} from './client.js';
export { Sm2Key, addressOf, publicKeyFromHex, verifySm2, DEFAULT_DIST_ID } from './keys.js';
export { encodeSignedTx, encodeTxBody, signTx, signingBytes, txId, TX_SIGNING_PREFIX, MAX_TX_BYTES } from './tx.js';
export type { Call, SignedTx, TxBody } from './tx.js';
export { verifyWebhook, webhookSignedBytes, WEBHOOK_SIGNING_PREFIX } from './webhooks.js';
export type { WebhookDelivery, WebhookKind, VerifyWebhookOptions } from './webhooks.js';
export { fromHex, toHex, utf8, concat } from './verify/bytes.js';
export { sm3 } from './verify/sm3.js';
export * as verify from './verify/index.js';
