import type { FinancingApplicationFieldsFragment } from '../../api/generated';

export type FinancingAction = 'check' | 'approve' | 'ask' | 'reject' | 'disburse' | 'answer' | 'confirm';

/**
 * What the signed-in organisation may do with a financing application in its current state
 * (domain/src/workflow/definitions.rs FINANCING). The chain enforces the same table.
 */
export function financingActions(a: Pick<FinancingApplicationFieldsFragment, 'state' | 'funder' | 'supplier'>, org: string): FinancingAction[] {
  if (a.funder === org) {
    if (a.state === 'submitted') return ['check', 'approve', 'ask', 'reject'];
    if (a.state === 'info_requested') return ['reject'];
    if (a.state === 'approved') return ['disburse'];
  }
  if (a.supplier === org) {
    if (a.state === 'info_requested') return ['answer'];
    if (a.state === 'disbursed') return ['confirm'];
  }
  return [];
}

/** Financing states that need no further step. */
export const FINAL_STATES = ['completed', 'rejected', 'expired'];
