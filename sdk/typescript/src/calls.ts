/**
 * Module call payloads (each module's Borsh call enum: a `u8` variant index, then the fields in
 * declaration order). Only the calls the SDK's examples sign are here; add others the same way from the
 * module's enum in `domain/src/`.
 */
import { BorshWriter } from './borsh.js';
import type { Call } from './tx.js';

/** Days since 1970-01-01 of a `YYYY-MM-DD` date (the domain's `Date`, an `i32`). */
export function epochDays(ymd: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd);
  if (!m) throw new TypeError(`date: ${JSON.stringify(ymd)} is not YYYY-MM-DD`);
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const d = new Date(ms);
  if (d.getUTCFullYear() !== Number(m[1]) || d.getUTCMonth() !== Number(m[2]) - 1 || d.getUTCDate() !== Number(m[3])) {
    throw new TypeError(`date: ${ymd} does not exist`);
  }
  return ms / 86_400_000;
}

export interface IssueVoucher {
  voucherNo: string;
  /** The tier-1 supplier's organisation id. */
  to: string;
  /** Fen (1 元 = 100 fen). */
  amount: bigint | number;
  currency?: string;
  /** `YYYY-MM-DD`. */
  dueDate: string;
  contractRef: string;
  invoices: string[];
  allowOverSixMonths?: boolean;
}

/** `voucher` module calls (`VoucherCall` in domain/src/voucher.rs). */
export const voucher = {
  issue(v: IssueVoucher): Call {
    const w = new BorshWriter()
      .u8(0)
      .string(v.voucherNo)
      .string(v.to)
      .u64(v.amount)
      .string(v.currency ?? 'CNY')
      .i32(epochDays(v.dueDate))
      .string(v.contractRef)
      .vec(v.invoices, (w, s) => w.string(s))
      .bool(v.allowOverSixMonths ?? false);
    return { module: 'voucher', payload: w.finish() };
  },
  signFor(voucherId: string): Call {
    return { module: 'voucher', payload: new BorshWriter().u8(1).string(voucherId).finish() };
  },
};
