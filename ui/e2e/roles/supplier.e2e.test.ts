/**
 * Supplier (江苏恒力 HLBRAKE, wang.fang): enters an invoice with lines (totals checked live), uploads a UBL
 * invoice, reverses part of it, applies for financing against a voucher and for a pledge loan against a
 * warehouse receipt — all in the browser; results read back over GraphQL.
 */
import { sm3 } from 'sm-crypto';
import { describe, expect, inject, it } from 'vitest';

import { as, committed, cstDate, dialog, eventually, invoiceNumber, pick, RUN } from '../api';
import { login, shot } from '../browser';
import { ublInvoice, tempFile } from '../docs';
import { activeVoucher, ORG, receipt, TX } from './fixtures';
import { openTab, useBrowser } from './setup';

const baseUrl = inject('baseUrl');
const b = useBrowser();

interface InvoiceRead {
  invoice: { totalAmount: number; totalTax: number; totalWithTax: number; reversed: number; buyerOrg: string | null; lineCount: number };
}
const readInvoice = (n: string) =>
  as<InvoiceRead>(baseUrl, 'wang.fang', 'query($n:String!){invoice(number:$n){totalAmount totalTax totalWithTax reversed buyerOrg lineCount}}', { n });

describe.sequential('supplier', () => {
  it('issues an invoice with lines, uploads a UBL invoice and reverses part of it', async () => {
    const { page } = b;
    await login(page, baseUrl, 'wang.fang');
    await openTab(page, baseUrl, 'supplier', 'issueInvoice');
    const form = page.getByRole('form', { name: '开具发票' });
    const number = invoiceNumber();
    // A 19-digit number is refused at the field, before anything is signed.
    await form.getByLabel('发票号码').fill(number.slice(1));
    await form.getByLabel('发票号码').blur();
    await form.getByText('发票号码：数电票号码为 20 位数字').waitFor();
    await form.getByLabel('发票号码').fill(number);
    await pick(page, '购买方（联盟成员）', ORG.HSAUTO.name, form);
    await form.getByLabel('第 1 行项目名称').fill('*汽车零部件*制动盘');
    await form.getByLabel('第 1 行数量').fill('3');
    await form.getByLabel('第 1 行单价（元）').fill('0.335');
    // 3 × 0.335 = 1.005 元 → 101 fen (half up); tax 13 % of 101 fen = 13.13 → 13 fen.
    await form.getByRole('button', { name: '增加一行' }).click();
    await form.getByLabel('第 2 行项目名称').fill('*汽车零部件*制动卡钳');
    await form.getByLabel('第 2 行金额（元，不含税）').fill('1,200.00');
    await form.getByLabel('第 2 行税率').fill('13');
    await form.getByLabel('第 2 行税额（元）').fill('156.02');
    // The stated tax is 2 fen off: named at the line, submit refused.
    await form.getByText('第 2 行 税额（元）：与计算值 ¥156.00 相差超过 1 分').waitFor();
    await form.getByLabel('第 2 行税额（元）').fill('156.00');
    await expect.poll(() => page.getByTestId('invoice-totals').innerText()).toContain('合计金额 ¥1,201.01，合计税额 ¥156.13，价税合计 ¥1,357.14');
    await form.getByLabel('开票人').fill('王芳');
    await shot(page, 'supplier-issue-invoice', false);
    await form.getByRole('button', { name: '开具发票' }).click();
    await committed(page, '开具发票');
    await page.getByTestId('tx-outcome').getByRole('link', { name: '在区块浏览器中查看' }).waitFor();
    const issued = await eventually(() => readInvoice(number), () => true, 'invoice issued');
    expect(issued.invoice).toMatchObject({ totalAmount: 120101, totalTax: 15613, totalWithTax: 135714, buyerOrg: 'HSAUTO', lineCount: 2 });

    // UBL: 40 pieces at ¥250.00, 13 % VAT.
    const ublNumber = invoiceNumber();
    const ubl = ublInvoice({ number: ublNumber, issueDate: cstDate(), seller: ORG.HLBRAKE, buyer: ORG.HSAUTO, issuer: '王芳', item: '*汽车零部件*制动油管', quantity: 40, priceFen: 25000 });
    const upload = page.getByRole('form', { name: '上传 UBL 发票' });
    await upload.getByLabel('UBL 发票文件').setInputFiles(tempFile(`${ublNumber}.xml`, ubl.xml));
    await page.locator('[aria-label="文件预览"]').getByText(ublNumber, { exact: true }).waitFor();
    await pick(page, '上传 UBL 发票 购买方（联盟成员）', ORG.HSAUTO.name, upload);
    await shot(page, 'supplier-ubl-upload', false);
    await upload.getByRole('button', { name: '上传并开具' }).click();
    await committed(page, '上传并开具');
    const fromUbl = await eventually(() => readInvoice(ublNumber), () => true, 'UBL invoice issued');
    expect(fromUbl.invoice).toMatchObject({ totalAmount: 1_000_000, totalTax: 130_000, totalWithTax: ubl.totalFen, buyerOrg: 'HSAUTO' });

    // 红冲 ¥2,260.00 of it (partial), as the seller, from 我的发票.
    await openTab(page, baseUrl, 'supplier', 'invoices');
    const row = page.getByRole('table', { name: '我的发票' }).getByRole('row').filter({ hasText: ublNumber });
    await row.getByRole('button', { name: `红冲 ${ublNumber}` }).click();
    const reverse = await dialog(page, `红冲 · ${ublNumber}`);
    await reverse.getByLabel('红字发票号码').fill(invoiceNumber());
    await reverse.getByLabel('红冲金额（元，含税）').fill('2260');
    await reverse.getByLabel('原因').fill('退回 10 件');
    await reverse.getByRole('button', { name: `红冲 · ${ublNumber}` }).click();
    await committed(page, `红冲 · ${ublNumber}`);
    await eventually(() => readInvoice(ublNumber), (r) => r.invoice.reversed === 226_000, 'partial reversal');
    await row.getByText('已部分红冲 ¥2,260.00').waitFor();
    await shot(page, 'supplier-invoice-reversed', false);
  });

  it('applies for financing against a voucher and for a pledge loan against a warehouse receipt', async () => {
    const { page } = b;
    const voucher = await activeVoucher(baseUrl, `E2E-S-${RUN}`, 500_000_00);
    const number = await receipt(baseUrl, `E2E-S-${RUN}`, 'HLBRAKE', `S-${RUN}`);
    await login(page, baseUrl, 'wang.fang');

    await page.goto(`${baseUrl}/vouchers/${voucher}`);
    await page.getByRole('button', { name: '申请融资' }).click();
    const apply = await dialog(page, '申请融资');
    await pick(page, '资金方', ORG.ICBC.name);
    await apply.getByRole('textbox', { name: '可接受的最高年化贴现率（%）' }).fill('4.8');
    // A document is registered by its SM3 hash; the file itself stays with the supplier.
    const statement = `对账单 ${RUN}：HSAUTO 应付 ¥500,000.00`;
    await apply.getByLabel('附件材料').setInputFiles(tempFile('statement.txt', statement));
    await apply.getByLabel('已选材料').getByText('statement.txt').waitFor();
    await apply.getByRole('button', { name: '申请融资' }).click();
    await committed(page, '申请融资');
    const apps = await eventually(
      () =>
        as<{ financingApplications: { state: string; requestedRateBp: number; documents: { name: string; sm3: string }[] }[] }>(
          baseUrl,
          'wang.fang',
          'query($v:String!){financingApplications(filter:{voucherId:$v}){state requestedRateBp documents{name sm3}}}',
          { v: voucher },
        ),
      (r) => r.financingApplications.length === 1,
      'financing application',
    );
    expect(apps.financingApplications[0]).toEqual({
      state: 'submitted',
      requestedRateBp: 480,
      documents: [{ name: 'statement.txt', sm3: sm3(Array.from(new TextEncoder().encode(statement))) }],
    });

    await openTab(page, baseUrl, 'supplier', 'receipts');
    const row = page.getByRole('table', { name: '我的仓单' }).getByRole('row').filter({ hasText: number });
    await row.getByRole('button', { name: `申请质押融资 ${number}` }).click();
    const pledge = await dialog(page, `申请质押融资 · ${number}`);
    const appId = `PL-S-${RUN}`;
    await pledge.getByLabel('申请编号').fill(appId);
    await pick(page, '资金方', ORG.ICBC.name, pledge);
    await pledge.getByLabel('申请金额（元）').fill('300,000');
    await shot(page, 'supplier-apply-pledge', false);
    await pledge.getByRole('button', { name: `申请质押融资 · ${number}` }).click();
    await committed(page, `申请质押融资 · ${number}`);
    const inst = await eventually(
      () => as<{ workflowInstance: { state: string; amount: number; subject: string } }>(baseUrl, 'wang.fang', 'query($id:String!){workflowInstance(id:$id){state amount subject}}', { id: appId }),
      () => true,
      'pledge application',
    );
    expect(inst.workflowInstance).toEqual({ state: 'applied', amount: 300_000_00, subject: number });
  });

  it('answers a funder’s question, confirms the money arrived, and records repaying a pledge loan', async () => {
    const { page } = b;
    const voucher = await activeVoucher(baseUrl, `E2E-S2-${RUN}`, 300_000_00);
    const app = `FA-S-${RUN}`;
    await as(baseUrl, 'wang.fang', `mutation($i:ApplyFinancingInput!){applyForFinancing(input:$i) ${TX}}`, { i: { applicationId: app, voucherId: voucher, funder: 'ICBC-SH', requestedRateBp: 500 } });
    await as(baseUrl, 'wu.hao', `mutation($id:String!){requestFinancingInfo(applicationId:$id,question:"请提供送货单") ${TX}}`, { id: app });
    const state = async () =>
      (await as<{ financingApplications: { id: string; state: string }[] }>(baseUrl, 'wang.fang', 'query{financingApplications(filter:{supplier:"HLBRAKE"}){id state}}')).financingApplications.find((a) => a.id === app)?.state;

    await login(page, baseUrl, 'wang.fang');
    await openTab(page, baseUrl, 'supplier', 'financing');
    const row = page.getByRole('table', { name: '融资申请' }).getByRole('row').filter({ hasText: app });
    await row.getByRole('button', { name: `补充材料 ${app}` }).click();
    const answer = await dialog(page, `补充材料 · ${app}`);
    await answer.getByRole('textbox', { name: '答复' }).fill('送货单 SH-2026-1201 已上传至资金方邮箱');
    await answer.getByRole('button', { name: `补充材料 · ${app}` }).click();
    await committed(page, '补充材料');
    await eventually(state, (s) => s === 'submitted', 'answered');

    await as(baseUrl, 'wu.hao', `mutation($id:String!){checkFinancingInvoices(applicationId:$id) ${TX}}`, { id: app });
    await as(baseUrl, 'wu.hao', `mutation($id:String!){approveFinancing(applicationId:$id,discountRateBp:450,agreementRef:"ICBC-S2") ${TX}}`, { id: app });
    const net = (await as<{ financingApplications: { id: string; approval: { netAmount: number } | null }[] }>(baseUrl, 'wu.hao', 'query{financingApplications(filter:{funder:"ICBC-SH"}){id approval{netAmount}}}')).financingApplications.find(
      (a) => a.id === app,
    )!.approval!.netAmount;
    await as(baseUrl, 'wu.hao', `mutation($id:String!,$a:Int!){recordDisbursement(applicationId:$id,paymentRef:"ICBC-PAY-S2",amount:$a) ${TX}}`, { id: app, a: net });
    await eventually(state, (s) => s === 'disbursed', 'disbursed');
    await page.reload();
    await row.getByRole('button', { name: `确认收款 ${app}` }).click();
    await committed(page, '确认收款');
    await eventually(state, (s) => s === 'completed', 'completed');

    // A pledge loan on a receipt this supplier holds: approved by the bank, repaid by the supplier.
    const number = await receipt(baseUrl, `E2E-S2-${RUN}`, 'HLBRAKE', `S2-${RUN}`);
    const pl = `PL-S2-${RUN}`;
    await as(baseUrl, 'wang.fang', `mutation($i:ApplyPledgeInput!){applyForPledge(input:$i) ${TX}}`, { i: { applicationId: pl, receipt: number, funder: 'ICBC-SH', requestedAmount: 100_000_00 } });
    await as(baseUrl, 'guo.qiang', `mutation($id:String!,$t:Int!){confirmPledgeGoods(applicationId:$id,goodsValue:30000000,iot:{status:NORMAL,observedMs:$t,summary:"正常"}) ${TX}}`, { id: pl, t: Date.now() });
    await as(baseUrl, 'wu.hao', `mutation($id:String!,$d:String!){approvePledge(applicationId:$id,loanAmount:10000000,pledgeRateBp:5000,due:$d,agreementRef:"ICBC-ZY-S2") ${TX}}`, { id: pl, d: cstDate(60) });
    await openTab(page, baseUrl, 'supplier', 'tasks');
    const task = page.getByRole('table', { name: '流程待办' }).getByRole('row').filter({ hasText: pl });
    await task.getByRole('button', { name: `登记还款 ${pl}` }).click();
    const repay = await dialog(page, `登记还款 · ${pl}`);
    await repay.getByLabel('付款流水号').fill(`HLBRAKE-REPAY-${RUN}`);
    await shot(page, 'supplier-record-repayment', false);
    await repay.getByRole('button', { name: `登记还款 · ${pl}` }).click();
    await committed(page, `登记还款 · ${pl}`);
    await eventually(
      () => as<{ workflowInstance: { state: string } }>(baseUrl, 'wang.fang', 'query($id:String!){workflowInstance(id:$id){state}}', { id: pl }),
      (r) => r.workflowInstance.state === 'repaid',
      'repaid',
    );
  });
  it('withdraws a pledge application before the funder decides', async () => {
    const { page } = b;
    const number = await receipt(baseUrl, `E2E-SW-${RUN}`, 'HLBRAKE', `SW-${RUN}`);
    const pl = `PL-SW-${RUN}`;
    await as(baseUrl, 'wang.fang', `mutation($i:ApplyPledgeInput!){applyForPledge(input:$i) ${TX}}`, { i: { applicationId: pl, receipt: number, funder: 'ICBC-SH', requestedAmount: 100_000_00 } });
    await login(page, baseUrl, 'wang.fang');
    await openTab(page, baseUrl, 'supplier', 'workflow');
    await page.getByRole('textbox', { name: '申请编号' }).fill(pl);
    await page.getByRole('button', { name: /^打\s*开$/ }).click();
    const card = page.getByRole('region', { name: `申请 ${pl}` });
    await card.getByTestId('workflow-state').getByText('applied').waitFor();
    await card.getByRole('button', { name: `撤回质押申请 ${pl}` }).click();
    const withdraw = await dialog(page, `撤回质押申请 · ${pl}`);
    await withdraw.getByLabel('原因').fill('改用应收账款融资');
    await withdraw.getByRole('button', { name: `撤回质押申请 · ${pl}` }).click();
    await committed(page, `撤回质押申请 · ${pl}`);
    await eventually(
      () => as<{ workflowInstance: { state: string } }>(baseUrl, 'wang.fang', 'query($id:String!){workflowInstance(id:$id){state}}', { id: pl }),
      (r) => r.workflowInstance.state === 'withdrawn',
      'withdrawn',
    );
  });
});
