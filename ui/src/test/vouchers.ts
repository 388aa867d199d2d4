import type { VoucherFieldsFragment } from '../api/generated';

/** A voucher for tests: defaults from the demo story's HSY-2026-0003, overridden by `p`. */
export function voucher(p: Partial<VoucherFieldsFragment> & { id: string }): VoucherFieldsFragment {
  return {
    rootId: p.id.split('.')[0]!,
    parentId: p.id.includes('.') ? p.id.slice(0, p.id.lastIndexOf('.')) : null,
    depth: p.id.split('.').length - 1,
    issuer: 'HSAUTO',
    holder: 'HLBRAKE',
    pendingFrom: null,
    amount: 300000000,
    currency: 'CNY',
    issueDate: '2026-10-15',
    dueDate: '2027-04-15',
    status: 'ACTIVE',
    contractRef: 'HS-CG-2026-0561',
    invoices: ['26312000000000180003'],
    offeredTo: null,
    financedBy: null,
    frozen: false,
    overdue: false,
    updatedHeight: 7,
    ...p,
  };
}
