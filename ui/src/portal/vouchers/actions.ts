import type { VoucherFieldsFragment } from '../../api/generated';
import type { OrgRole } from '../../api/types';

export type VoucherAction =
  | 'signFor'
  | 'reject'
  | 'split'
  | 'transfer'
  | 'offerFinancing'
  | 'cancelOffer'
  | 'acceptFinancing'
  | 'recordPayment'
  | 'markOverdue'
  | 'escalateOverdue'
  | 'freeze'
  | 'unfreeze';

/**
 * What the signed-in organisation may do with a voucher now. Mirrors the domain's rules
 * (domain/src/voucher.rs) to offer only sensible buttons; the chain decides and the UI shows its answer.
 */
export function voucherActions(v: VoucherFieldsFragment, org: string, roles: readonly OrgRole[], today: string): VoucherAction[] {
  const out: VoucherAction[] = [];
  const holder = v.holder === org;
  const beforeDue = today < v.dueDate;
  const movable = !v.frozen && beforeDue;
  if (v.status === 'PENDING' && holder && !v.frozen) out.push('signFor', 'reject');
  if (v.status === 'ACTIVE' && holder && movable && !v.offeredTo && !v.financedBy) {
    out.push('split', 'transfer');
    if (!roles.includes('funder')) out.push('offerFinancing');
  }
  if (v.status === 'ACTIVE' && holder && v.offeredTo && !v.financedBy) out.push('cancelOffer');
  if (v.status === 'ACTIVE' && v.offeredTo === org && roles.includes('funder') && movable) out.push('acceptFinancing');
  const root = v.depth === 0;
  const unpaid = v.status === 'ACTIVE' || v.status === 'SPLIT';
  if (root && unpaid && v.issuer === org && !beforeDue) out.push('recordPayment');
  // Overdue means unpaid strictly after the due date (domain `is_overdue`).
  if (root && unpaid && today > v.dueDate) out.push('markOverdue', 'escalateOverdue');
  if (roles.includes('regulator')) out.push(v.frozen ? 'unfreeze' : 'freeze');
  return out;
}

/** Today as `YYYY-MM-DD` in China Standard Time (the chain's business calendar). */
export function todayCst(now: Date = new Date()): string {
  return new Date(now.getTime() + 8 * 3600_000).toISOString().slice(0, 10);
}
