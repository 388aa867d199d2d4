import { describe, expect, it } from 'vitest';

import { voucher } from '../../test/vouchers';
import { outstandingByTier } from '../core/OutstandingByTier';
import { toCsv } from '../exportCsv';
import { todayCst, voucherActions } from './actions';
import { lineageTree, liveLeafSum } from './lineage';
import { checkSplit } from './splitParts';


const tree = [
  voucher({ id: 'HSY-3', status: 'SPLIT' }),
  voucher({ id: 'HSY-3.1', amount: 100000000, status: 'SPLIT', holder: 'JDCAST' }),
  voucher({ id: 'HSY-3.1.1', amount: 40000000, status: 'PENDING', holder: 'HGSTEEL', pendingFrom: 'JDCAST' }),
  voucher({ id: 'HSY-3.1.2', amount: 60000000, holder: 'JDCAST' }),
  voucher({ id: 'HSY-3.2', amount: 200000000 }),
];

describe('lineage tree', () => {
  it('nests children under parents and conserves the root amount over live leaves', () => {
    const roots = lineageTree(tree);
    expect(roots).toHaveLength(1);
    expect(roots[0]!.children.map((c) => c.voucher.id)).toEqual(['HSY-3.1', 'HSY-3.2']);
    expect(roots[0]!.children[0]!.children.map((c) => c.voucher.id)).toEqual(['HSY-3.1.1', 'HSY-3.1.2']);
    expect(liveLeafSum(roots[0]!)).toBe(300000000n);
  });
  it('keeps a voucher whose parent the caller cannot see, at the top level', () => {
    const roots = lineageTree([tree[2]!, tree[3]!]);
    expect(roots.map((r) => r.voucher.id)).toEqual(['HSY-3.1.1', 'HSY-3.1.2']);
  });
});

describe('split sum check', () => {
  it('accepts parts summing exactly to the voucher, in fen', () => {
    const c = checkSplit(200000000, [
      { to: 'HLBRAKE', amount: '1,200,000.10' },
      { to: 'JDCAST', amount: '799999.90' },
    ]);
    expect(c.ok).toBe(true);
    if (c.ok) expect(c.parts.map((p) => p.amount)).toEqual([120000010n, 79999990n]);
  });
  it('reports short, over, missing recipient and bad amounts', () => {
    const short = checkSplit(200000000, [{ to: 'A', amount: '1000000' }]);
    expect(short).toMatchObject({ ok: false, remaining: 100000000n });
    const over = checkSplit(100, [{ to: 'A', amount: '0.6' }, { to: 'B', amount: '0.5' }]);
    expect(over).toMatchObject({ ok: false, remaining: -10n });
    const bad = checkSplit(100, [{ to: undefined, amount: '1.001' }]);
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.problems.map((p) => p.kind).sort()).toEqual(['amount', 'recipient', 'sum']);
    const zero = checkSplit(100, [{ to: 'A', amount: '1' }, { to: 'B', amount: '0' }]);
    if (!zero.ok) expect(zero.problems).toContainEqual({ kind: 'zero', index: 1 });
    else expect.fail('a zero part must be refused');
  });
});

describe('voucher actions', () => {
  const today = '2026-11-22';
  it('lets the holder sign for or reject a pending voucher', () => {
    expect(voucherActions(voucher({ id: 'V', status: 'PENDING' }), 'HLBRAKE', ['supplier'], today)).toEqual(['signFor', 'reject']);
    expect(voucherActions(voucher({ id: 'V', status: 'PENDING' }), 'JDCAST', ['supplier'], today)).toEqual([]);
  });
  it('lets the holder split, transfer and apply for financing an active voucher before its due date', () => {
    expect(voucherActions(voucher({ id: 'V' }), 'HLBRAKE', ['supplier'], today)).toEqual(['split', 'transfer', 'offerFinancing']);
    expect(voucherActions(voucher({ id: 'V', frozen: true }), 'HLBRAKE', ['supplier'], today)).toEqual([]);
    expect(voucherActions(voucher({ id: 'V', dueDate: today }), 'HLBRAKE', ['supplier'], today)).toEqual([]);
  });
  it('lets the offered funder approve, and the holder withdraw, a financing offer', () => {
    const offered = voucher({ id: 'V', offeredTo: 'ICBC-SH' });
    expect(voucherActions(offered, 'ICBC-SH', ['funder'], today)).toEqual(['acceptFinancing']);
    expect(voucherActions(offered, 'HLBRAKE', ['supplier'], today)).toEqual(['cancelOffer']);
  });
  it('lets the obligor record payment of a due root and the regulator freeze or unfreeze', () => {
    const due = voucher({ id: 'V', status: 'SPLIT', dueDate: '2026-09-03' });
    expect(voucherActions(due, 'HSAUTO', ['core_enterprise'], today)).toEqual(['recordPayment', 'markOverdue', 'escalateOverdue']);
    expect(voucherActions(voucher({ id: 'V' }), 'PBOC-SH', ['regulator'], today)).toEqual(['freeze']);
    expect(voucherActions(voucher({ id: 'V', frozen: true }), 'PBOC-SH', ['regulator'], today)).toEqual(['unfreeze']);
  });
  it('uses the chain’s calendar (China Standard Time) for today', () => {
    expect(todayCst(new Date('2026-11-21T16:30:00Z'))).toBe('2026-11-22');
  });
});

describe('outstanding by tier', () => {
  it('sums live vouchers per tier exactly', () => {
    expect(outstandingByTier(tree)).toEqual([
      { tier: 2, count: 1, fen: 200000000n },
      { tier: 3, count: 2, fen: 100000000n },
    ]);
  });
});

describe('CSV export', () => {
  it('quotes what needs quoting and defuses spreadsheet formulas', () => {
    expect(toCsv(['a', 'b'], [['x,y', 'say "hi"'], ['=SUM(A1)', 3]])).toBe('a,b\r\n"x,y","say ""hi"""\r\n\'=SUM(A1),3\r\n');
  });
});
