import type { FinancingApplicationFieldsFragment } from '../../api/generated';

export type FinancingAction = 'check' | 'approve' | 'ask' | 'reject' | 'disburse' | 'answer' | 'confirm' | 'withdraw';

/**
 * What the signed-in organisation may do with a financing application in its current state
 * (domain/src/workflow/definitions.rs FINANCING). The chain enforces the same table.
 */
export function financingActions(
  a: Pick<FinancingApplicationFieldsFragment, 'state' | 'funder' | 'supplier'> & { invoiceCheck: { passed: boolean } | null },
  org: string,
): FinancingAction[] {
  if (a.funder === org) {
    // Approval needs a passed 查验 of the backing invoices (WORKFLOW_INVOICES_NOT_CHECKED otherwise).
    if (a.state === 'submitted') return a.invoiceCheck?.passed ? ['approve', 'ask', 'reject'] : ['check', 'ask', 'reject'];
    if (a.state === 'info_requested') return ['reject'];
    if (a.state === 'approved') return ['disburse'];
  }
  if (a.supplier === org) {
    // The applicant may withdraw while the funder has not decided (WithdrawFinancing).
    if (a.state === 'submitted') return ['withdraw'];
    if (a.state === 'info_requested') return ['answer', 'withdraw'];
    if (a.state === 'disbursed') return ['confirm'];
  }
  return [];
}

/** Financing states that need no further step. */
export const FINAL_STATES = ['completed', 'rejected', 'withdrawn', 'expired'];
