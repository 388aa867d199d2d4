/**
 * Regulator (中国人民银行上海总部 PBOC-SH, supervisor): freezes and unfreezes a warehouse receipt and
 * downloads the audit export of the blocks that did it as CSV; results read back over GraphQL.
 */
import { readFileSync } from 'node:fs';

import { describe, expect, inject, it } from 'vitest';

import { as, committed, dialog, eventually, RUN } from '../api';
import { login, shot } from '../browser';
import { receipt } from './fixtures';
import { openTab, useBrowser } from './setup';

const baseUrl = inject('baseUrl');
const b = useBrowser();

describe('regulator', () => {
  it('freezes and unfreezes a receipt, then exports those blocks as CSV', async () => {
    const { page } = b;
    const number = await receipt(baseUrl, `E2E-R-${RUN}`, 'HGSTEEL', `R-${RUN}`);
    const frozen = () => as<{ warehouseReceipt: { frozen: boolean } }>(baseUrl, 'supervisor', 'query($n:String!){warehouseReceipt(number:$n){frozen}}', { n: number });
    await login(page, baseUrl, 'supervisor');
    await openTab(page, baseUrl, 'regulator', 'receipts');
    const row = page.getByRole('table', { name: '全部仓单' }).getByRole('row').filter({ hasText: number });
    await row.getByRole('button', { name: `冻结仓单 ${number}` }).click();
    const freeze = await dialog(page, `冻结仓单 · ${number}`);
    await freeze.getByLabel('原因').fill('涉嫌重复质押，监管调查');
    await freeze.getByRole('button', { name: `冻结仓单 · ${number}` }).click();
    const from = await committed(page, `冻结仓单 · ${number}`);
    await eventually(frozen, (r) => r.warehouseReceipt.frozen, 'frozen');
    await row.getByText('已冻结').waitFor();
    await shot(page, 'regulator-receipt-frozen', false);
    await row.getByRole('button', { name: `解冻仓单 ${number}` }).click();
    const unfreeze = await dialog(page, `解冻仓单 · ${number}`);
    await unfreeze.getByLabel('原因').fill('调查结束');
    await unfreeze.getByRole('button', { name: `解冻仓单 · ${number}` }).click();
    const to = await committed(page, `解冻仓单 · ${number}`);
    await eventually(frozen, (r) => !r.warehouseReceipt.frozen, 'unfrozen');

    await openTab(page, baseUrl, 'regulator', 'export');
    const form = page.getByRole('form', { name: '审计导出' });
    await form.getByLabel('起始区块').fill(String(from));
    await form.getByLabel('结束区块').fill(String(to));
    await form.getByLabel('机构编号').fill('PBOC-SH');
    const [download] = await Promise.all([page.waitForEvent('download'), form.getByRole('button', { name: '导出 CSV' }).click()]);
    expect(download.suggestedFilename()).toBe(`audit-PBOC-SH-${from}-${to}.csv`);
    const csv = readFileSync((await download.path())!, 'utf8').replace(/^\uFEFF/, '');
    const [header, ...rows] = csv.trim().split('\r\n');
    expect(header).toBe('height,blockTimeMs,txId,txIndex,sender,module,outcome,errorCode,event,attributes');
    const events = rows.map((r) => r.split(',')).map((c) => [Number(c[0]), c[5], c[6], c[8]]);
    expect(events).toEqual(
      expect.arrayContaining([
        [from, 'warehouse', 'success', 'ReceiptFrozen'],
        [to, 'warehouse', 'success', 'ReceiptUnfrozen'],
      ]),
    );
    await page.getByTestId('audit-export-done').waitFor();
    await shot(page, 'regulator-audit-export', false);
  });
});
