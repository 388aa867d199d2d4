import { describe, expect, it } from 'vitest';

import { applicationId } from '../vouchers/VoucherPage';
import { financingActions } from './financingActions';

describe('financing application steps', () => {
  const app = (state: string, passed: boolean | null = null) => ({
    state,
    funder: 'ICBC-SH',
    supplier: 'HLBRAKE',
    invoiceCheck: passed === null ? null : { passed },
  });
  it('gives the funder 查验 first, then approve; ask and reject while submitted; then disbursement', () => {
    expect(financingActions(app('submitted'), 'ICBC-SH')).toEqual(['check', 'ask', 'reject']);
    expect(financingActions(app('submitted', false), 'ICBC-SH')).toEqual(['check', 'ask', 'reject']);
    expect(financingActions(app('submitted', true), 'ICBC-SH')).toEqual(['approve', 'ask', 'reject']);
    expect(financingActions(app('info_requested'), 'ICBC-SH')).toEqual(['reject']);
    expect(financingActions(app('approved'), 'ICBC-SH')).toEqual(['disburse']);
    expect(financingActions(app('completed'), 'ICBC-SH')).toEqual([]);
  });
  it('gives the supplier the answer to a question, withdrawal before a decision, and the receipt confirmation', () => {
    expect(financingActions(app('submitted'), 'HLBRAKE')).toEqual(['withdraw']);
    expect(financingActions(app('info_requested'), 'HLBRAKE')).toEqual(['answer', 'withdraw']);
    expect(financingActions(app('approved'), 'HLBRAKE')).toEqual([]);
    expect(financingActions(app('withdrawn'), 'HLBRAKE')).toEqual([]);
    expect(financingActions(app('disbursed'), 'HLBRAKE')).toEqual(['confirm']);
  });
  it('makes application ids the chain accepts (A-Z 0-9 - _)', () => {
    const id = applicationId('HSY-2026-0004.3', 1_790_000_000_000);
    expect(id).toMatch(/^[A-Z0-9_-]+$/);
    expect(id.startsWith('FA-HSY-2026-0004-3-')).toBe(true);
  });
});
