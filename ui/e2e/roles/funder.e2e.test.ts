/**
 * Funder (工商银行上海市分行 ICBC-SH, wu.hao): the financing workflow (ask, 查验, approve, disburse; reject
 * another) and the pledge workflow end to end (approve the loan, margin call opened and resolved, release
 * after repayment) — in the browser; the other parties' steps over the API; results read back over GraphQL.
 */
import { readFileSync } from 'node:fs';

import { describe, expect, inject, it } from 'vitest';

import { as, committed, cstDate, dialog, eventually, RUN } from '../api';
import { login, shot } from '../browser';
import { activeVoucher, receipt, sellerIssuesInvoice, TX } from './fixtures';
import { openTab, useBrowser } from './setup';

const baseUrl = inject('baseUrl');
const b = useBrowser();

const financingState = async (id: string) =>
  (await as<{ financingApplications: { id: string; state: string }[] }>(baseUrl, 'wu.hao', 'query{financingApplications(filter:{funder:"ICBC-SH"}){id state}}')).financingApplications.find(
    (a) => a.id === id,
  )?.state;

const pledge = (id: string) =>
  as<{ workflowInstance: { state: string; subject: string } }>(baseUrl, 'wu.hao', 'query($id:String!){workflowInstance(id:$id){state subject}}', { id });

describe.sequential('funder', () => {
  it('asks, checks the invoices, approves and disburses one application, and rejects another', async () => {
    const { page } = b;
    const inv = await sellerIssuesInvoice(baseUrl, 400_000_00);
    await as(baseUrl, 'zhang.wei', `mutation($n:String!){bookInvoice(number:$n,bookingRef:"记-E2E-F") ${TX}}`, { n: inv.number });
    const [v1, v2] = [`E2E-F1-${RUN}`, `E2E-F2-${RUN}`];
    await activeVoucher(baseUrl, v1, 200_000_00, inv.number);
    await activeVoucher(baseUrl, v2, 100_000_00, inv.number);
    const [a1, a2] = [`FA1-${RUN}`, `FA2-${RUN}`];
    for (const [applicationId, voucherId] of [
      [a1, v1],
      [a2, v2],
    ]) {
      await as(baseUrl, 'wang.fang', `mutation($i:ApplyFinancingInput!){applyForFinancing(input:$i) ${TX}}`, {
        i: { applicationId, voucherId, funder: 'ICBC-SH', requestedRateBp: 500 },
      });
    }
    await login(page, baseUrl, 'wu.hao');
    await openTab(page, baseUrl, 'funder', 'inbox');
    const inbox = page.getByRole('table', { name: '融资申请' });
    const row = inbox.getByRole('row').filter({ hasText: a1 });

    await row.getByRole('button', { name: `询问 ${a1}` }).click();
    const ask = await dialog(page, `询问 · ${a1}`);
    await ask.getByRole('textbox', { name: '问题' }).fill('请提供最近一期对账单');
    await ask.getByRole('button', { name: `询问 · ${a1}` }).click();
    await committed(page, '询问');
    await eventually(() => financingState(a1), (s) => s === 'info_requested', 'info requested');
    await as(baseUrl, 'wang.fang', `mutation($id:String!){provideFinancingInfo(applicationId:$id,answer:"对账单编号 DZ-2026-11") ${TX}}`, { id: a1 });

    await row.getByRole('button', { name: `查验发票 ${a1}` }).click();
    await committed(page, '查验发票');
    await row.getByRole('button', { name: `批准 ${a1}` }).click();
    const approve = await dialog(page, `批准 · ${a1}`);
    await approve.getByRole('textbox', { name: '年化贴现率（%）' }).fill('4.5');
    await approve.getByRole('textbox', { name: '融资协议编号' }).fill(`ICBC-GYL-${RUN}`);
    await approve.getByRole('button', { name: `批准 · ${a1}` }).click();
    await committed(page, '批准');
    await eventually(() => financingState(a1), (s) => s === 'approved', 'approved');

    await row.getByRole('button', { name: `登记放款 ${a1}` }).click();
    const disburse = await dialog(page, `登记放款 · ${a1}`);
    await disburse.getByRole('textbox', { name: '付款流水号' }).fill(`ICBC-PAY-${RUN}`);
    await disburse.getByRole('button', { name: `登记放款 · ${a1}` }).click();
    await committed(page, '登记放款');
    await eventually(() => financingState(a1), (s) => s === 'disbursed', 'disbursed');
    await shot(page, 'funder-disbursed', false);

    // The 中登网 registration record of the financing: viewed in the row's details, downloaded as JSON,
    // and the same as the API reads back.
    await row.getByRole('button', { name: /展开行|Expand row/ }).click();
    await page.getByRole('button', { name: `登记记录 ${v1}` }).click();
    const record = await dialog(page, `中登网登记记录 · ${v1}`);
    await record.getByText(`REG-${v1}`).waitFor();
    await record.getByText('应收账款转让').waitFor();
    // The steps' toasts fade after a few seconds: the screenshot shows the record alone.
    await expect.poll(() => page.locator('.ant-message-notice').count(), { timeout: 20_000 }).toBe(0);
    await shot(page, 'funder-registration', false);
    const [download] = await Promise.all([page.waitForEvent('download'), record.getByRole('button', { name: '下载 JSON' }).click()]);
    expect(download.suggestedFilename()).toBe(`REG-${v1}.json`);
    const file = JSON.parse(readFileSync(await download.path(), 'utf8')) as Record<string, unknown>;
    const api = await as<{ financingRegistration: { json: string; mainContractAmount: number | null; discountRateBp: number | null } }>(
      baseUrl,
      'wu.hao',
      'query($v:String!){financingRegistration(voucherId:$v){json mainContractAmount discountRateBp}}',
      { v: v1 },
    );
    expect(file).toEqual(JSON.parse(api.financingRegistration.json));
    expect(file.registration_no).toBe(`REG-${v1}`);
    expect(file.discount_rate_bp).toBe(450);
    expect(api.financingRegistration.discountRateBp).toBe(450);
    expect(file.main_contract_amount).toBe(api.financingRegistration.mainContractAmount);
    expect(file.property_value).toBe(200_000_00);
    await page.keyboard.press('Escape');

    const other = inbox.getByRole('row').filter({ hasText: a2 });
    await other.getByRole('button', { name: `拒绝 ${a2}` }).click();
    const reject = await dialog(page, `拒绝 · ${a2}`);
    await reject.getByRole('textbox', { name: '原因' }).fill('授信额度不足');
    await reject.getByRole('button', { name: `拒绝 · ${a2}` }).click();
    await committed(page, '拒绝');
    await eventually(() => financingState(a2), (s) => s === 'rejected', 'rejected');
  });

  it('runs a pledge loan end to end: approve, margin call opened and resolved, release after repayment', async () => {
    const { page } = b;
    const number = await receipt(baseUrl, `E2E-F-${RUN}`, 'JDCAST', `F-${RUN}`);
    const id = `PL-F-${RUN}`;
    await as(baseUrl, 'liu.yang', `mutation($i:ApplyPledgeInput!){applyForPledge(input:$i) ${TX}}`, {
      i: { applicationId: id, receipt: number, funder: 'ICBC-SH', requestedAmount: 400_000_00 },
    });
    await as(baseUrl, 'guo.qiang', `mutation($id:String!,$t:Int!){confirmPledgeGoods(applicationId:$id,goodsValue:80000000,iot:{status:NORMAL,observedMs:$t,summary:"温湿度正常"}) ${TX}}`, {
      id,
      t: Date.now(),
    });

    await login(page, baseUrl, 'wu.hao');
    await openTab(page, baseUrl, 'funder', 'workflow');
    await page.getByRole('textbox', { name: '申请编号' }).fill(id);
    await page.getByRole('button', { name: /^打\s*开$/ }).click();
    const card = page.getByRole('region', { name: `申请 ${id}` });
    await card.getByTestId('workflow-state').getByText('goods_confirmed').waitFor();

    const step = async (label: string, target: string, fill?: (d: ReturnType<typeof page.getByRole>) => Promise<void>) => {
      await card.getByRole('button', { name: `${label} ${target}` }).click();
      const d = await dialog(page, `${label} · ${target}`);
      if (fill) await fill(d);
      await d.getByRole('button', { name: `${label} · ${target}` }).click();
      await committed(page, `${label} · ${target}`);
    };

    // Loan ¥400,000 at a 60 % pledge rate on ¥800,000 of goods.
    await step('批准质押贷款', id, async (d) => {
      await d.getByLabel('贷款金额（元）').fill('400000');
      await d.getByLabel('质押率（%）').fill('60');
      await d.getByLabel('到期日').fill(cstDate(90));
      await d.getByLabel('融资协议编号').fill(`ICBC-ZY-${RUN}`);
    });
    await eventually(() => pledge(id), (r) => r.workflowInstance.state === 'pledged', 'pledged');
    const pledged = await as<{ warehouseReceipt: { pledge: { funder: string; amount: number } | null } }>(baseUrl, 'wu.hao', 'query($n:String!){warehouseReceipt(number:$n){pledge{funder amount}}}', { n: number });
    expect(pledged.warehouseReceipt.pledge).toEqual({ funder: 'ICBC-SH', amount: 400_000_00 });

    // The warehouse flags the pledged goods after an inspection: the chain opens margin call #1 at once.
    await as(baseUrl, 'guo.qiang', `mutation($n:String!){flagWarehouseReceipt(number:$n,reason:"库位湿度超限") ${TX}}`, { n: number });
    await card.getByText('追加保证金 #1 处理中').waitFor();
    await shot(page, 'funder-margin-call', false);
    await step('处理追加保证金', `${id}#MC1`, (d) => d.getByLabel('处理结果').fill('存货人追加保证金 ¥50,000.00'));
    // Still flagged: the funder calls for margin again by hand, then settles it.
    await step('发起追加保证金', id, (d) => d.getByLabel('原因').fill('复检仍有锈蚀风险，请补充担保'));
    await card.getByText('追加保证金 #2 处理中').waitFor();
    await step('处理追加保证金', `${id}#MC2`, (d) => d.getByLabel('处理结果').fill('存货人补充保证金 ¥30,000.00'));
    const audit = await eventually(
      () => as<{ workflowAudit: { instanceId: string; action: string }[] }>(baseUrl, 'wu.hao', 'query($s:String!){workflowAudit(subject:$s){instanceId action}}', { s: number }),
      (r) => r.workflowAudit.filter((e) => e.action === 'ResolveMarginCall').length === 2,
      'margin calls resolved',
    );
    expect(audit.workflowAudit.map((e) => `${e.instanceId} ${e.action}`)).toEqual(
      expect.arrayContaining([`${id} ApprovePledge`, `${id}#MC2 OpenMarginCall`, `${id}#MC1 ResolveMarginCall`, `${id}#MC2 ResolveMarginCall`]),
    );

    await as(baseUrl, 'guo.qiang', `mutation($n:String!){clearWarehouseReceiptFlag(number:$n,reason:"除湿后复检合格") ${TX}}`, { n: number });
    await as(baseUrl, 'liu.yang', `mutation($id:String!){recordPledgeRepayment(applicationId:$id,paymentRef:"JD-REPAY-001") ${TX}}`, { id });
    await eventually(() => pledge(id), (r) => r.workflowInstance.state === 'repaid', 'repaid');
    // The open application is part of the address: a reload shows the new state.
    await page.reload();
    await card.getByTestId('workflow-state').getByText('repaid').waitFor();
    await step('解除质押', id);
    await eventually(() => pledge(id), (r) => r.workflowInstance.state === 'released', 'released');
    // The bank is no longer the pledgee and may not read the receipt: the warehouse reads it back.
    const released = await as<{ warehouseReceipt: { pledge: unknown } }>(baseUrl, 'guo.qiang', 'query($n:String!){warehouseReceipt(number:$n){pledge{funder}}}', { n: number });
    expect(released.warehouseReceipt.pledge).toBeNull();
  });
});
