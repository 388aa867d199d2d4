/**
 * Core enterprise (华晟汽车 HSAUTO, li.na): books (入账) a purchase invoice, issues a voucher against it, and
 * records the payment of the overdue root HSY-2026-0002 (which the page no longer offers to escalate once
 * the workflow audit shows it escalated) — in the browser; results read
 * back over GraphQL.
 */
import { describe, expect, inject, it } from 'vitest';

import { as, committed, dialog, eventually, pick, RUN } from '../api';
import { login, shot } from '../browser';
import { ORG, sellerIssuesInvoice } from './fixtures';
import { openTab, useBrowser } from './setup';

const baseUrl = inject('baseUrl');
const b = useBrowser();

describe.sequential('core enterprise', () => {
  it('books a purchase invoice and issues a voucher against it', async () => {
    const { page } = b;
    const inv = await sellerIssuesInvoice(baseUrl, 200_000_00);
    await login(page, baseUrl, 'li.na');
    await openTab(page, baseUrl, 'core_enterprise', 'invoices');
    const row = page.getByRole('table', { name: '采购发票' }).getByRole('row').filter({ hasText: inv.number });
    await row.getByRole('button', { name: `入账 ${inv.number}` }).click();
    const book = await dialog(page, `入账 · ${inv.number}`);
    await book.getByLabel('记账凭证号').fill(`记-2026-12-${RUN}`);
    await book.getByRole('button', { name: `入账 · ${inv.number}` }).click();
    await committed(page, `入账 · ${inv.number}`);
    await eventually(
      () => as<{ invoice: { booked: boolean } }>(baseUrl, 'li.na', 'query($n:String!){invoice(number:$n){booked}}', { n: inv.number }),
      (r) => r.invoice.booked,
      'invoice booked',
    );
    await row.getByText('已入账').waitFor();
    await shot(page, 'core-invoice-booked', false);

    const voucherNo = `E2E-C-${RUN}`;
    await openTab(page, baseUrl, 'core_enterprise', 'issue');
    const form = page.getByRole('form', { name: '开立凭证' });
    await form.getByLabel('凭证编号').fill(voucherNo);
    await pick(page, '一级供应商', ORG.HLBRAKE.name);
    const invoices = page.getByRole('combobox', { name: '关联发票' });
    await invoices.click();
    await invoices.fill(inv.number);
    await page.locator('.ant-select-dropdown:visible .ant-select-item-option-active', { hasText: inv.number }).waitFor();
    await invoices.press('Enter');
    await invoices.press('Escape');
    await form.getByLabel('金额（元）').fill('150000');
    await form.getByLabel('到期日').fill(new Date(Date.now() + 8 * 3600_000 + 60 * 86_400_000).toISOString().slice(0, 10));
    await form.getByLabel('到期日').press('Enter');
    await form.getByLabel('合同编号').fill(`HS-CG-${RUN}`);
    await form.getByRole('button', { name: '开立凭证' }).click();
    await committed(page, '开立凭证');
    const v = await eventually(
      () => as<{ voucher: { amount: number; holder: string; status: string; invoices: string[] } }>(baseUrl, 'li.na', 'query($v:String!){voucher(id:$v){amount holder status invoices}}', { v: voucherNo }),
      () => true,
      'voucher issued',
    );
    expect(v.voucher).toEqual({ amount: 150_000_00, holder: 'HLBRAKE', status: 'PENDING', invoices: [inv.number] });
  });

  it('records the payment of the overdue root HSY-2026-0002, escalated once already', async () => {
    const { page } = b;
    // The demo's timer service escalates an unpaid tree after its due date; a tree is escalated once.
    const audit = await eventually(
      () => as<{ workflowAudit: { action: string; actorOrg: string }[] }>(baseUrl, 'li.na', 'query{workflowAudit(subject:"HSY-2026-0002"){action actorOrg}}'),
      (r) => r.workflowAudit.some((e) => e.action === 'EscalateOverdue'),
      'escalation in the audit trail',
    );
    expect(audit.workflowAudit.filter((e) => e.action === 'EscalateOverdue')).toHaveLength(1);
    await login(page, baseUrl, 'li.na');
    await page.goto(`${baseUrl}/vouchers/HSY-2026-0002`);
    const toolbar = page.getByRole('toolbar', { name: '可执行操作' });
    await toolbar.getByRole('button', { name: '登记逾期' }).waitFor();
    // Already escalated, so the page does not offer it again.
    expect(await toolbar.getByRole('button', { name: '逾期上报' }).count()).toBe(0);
    await page.getByRole('button', { name: '登记兑付' }).click();
    const pay = await dialog(page, '登记兑付');
    await pay.getByRole('textbox', { name: '付款流水号' }).fill(`ICBC-HSAUTO-${RUN}`);
    await pay.getByRole('button', { name: '登记兑付' }).click();
    await committed(page, '登记兑付');
    await eventually(
      () => as<{ voucher: { status: string } }>(baseUrl, 'li.na', 'query{voucher(id:"HSY-2026-0002"){status}}'),
      (r) => r.voucher.status === 'SETTLED',
      'root settled',
    );
    await shot(page, 'core-paid', false);
  });
});
