/**
 * Role portals against a running `scf demo` (seeded with seeds/story.toml): a supplier signs for, splits and
 * transfers a voucher; a funder approves financing; a warehouse sees an excursion alert; the regulator and
 * explorer views render.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, inject, it } from 'vitest';

import { committed, dialog } from './api';
import { launch, login, shot } from './browser';
import { FAILURES } from './demo';
import { observe, reportFailure } from './diagnose';
import { sdlHas } from './sdl';

const baseUrl = inject('baseUrl');
let browser: Browser;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});
beforeEach(async () => {
  context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  page = await context.newPage();
  page.setDefaultTimeout(30_000);
  await observe(page);
});
afterEach(async ({ task }) => {
  const error = task.result?.errors?.[0]?.message ?? '';
  if (task.result?.state === 'fail' && !error.includes(FAILURES) && page && !page.isClosed()) {
    console.error(`failure report of "${task.name}":\n  ${(await reportFailure(page, task.name, error.split('\n')[0] ?? '')).summary}`);
  }
  await context?.close();
});

/** Choose `option` in a searchable select: type it, wait until it is the active option, press Enter. */
async function pick(p: Page, combobox: string, option: string): Promise<void> {
  const box = p.getByRole('combobox', { name: combobox });
  await box.click();
  await box.fill(option);
  await p.locator(`.ant-select-dropdown:visible .ant-select-item-option-active[title="${option}"]`).waitFor();
  await box.press('Enter');
  await expect.poll(() => box.locator('xpath=ancestor::div[contains(@class,"ant-select")][1]').innerText(), { timeout: 30_000 }).toContain(option);
}

describe.sequential('portals', () => {
  it('supplier signs for, splits and transfers a voucher, and applies for financing', async () => {
    await login(page, baseUrl, 'chen.jie');
    await page.getByRole('link', { name: '供应商门户' }).waitFor();
    await shot(page, 'supplier-home', false);
    await page.getByRole('menuitem', { name: /供应商门户/ }).click();
    await page.getByRole('tab', { name: '我的待办' }).click();
    await page.getByRole('table', { name: '待我签收' }).getByRole('link', { name: 'HSY-2026-0004', exact: true }).waitFor();
    await shot(page, 'supplier-tasks');
    await page.getByRole('table', { name: '待我签收' }).getByRole('link', { name: 'HSY-2026-0004', exact: true }).click();

    await page.getByRole('button', { name: /签\s*收/ }).click();
    await committed(page, '签收');
    await expect.poll(() => page.locator('.ant-descriptions').getByText('有效', { exact: true }).count(), { timeout: 30_000 }).toBeGreaterThan(0);

    // Split ¥800,000.00 three ways: keep 300,000, give 300,000 to a tier-2 supplier, keep 200,000.
    await page.getByRole('button', { name: '拆分转让' }).click();
    const form = page.getByRole('form', { name: '拆分转让' });
    await form.getByRole('button', { name: '增加一部分' }).click();
    await form.getByRole('textbox', { name: '第 1 部分金额（元）' }).fill('300000');
    await pick(page, '第 2 部分接收方', '常州精锻铸造有限公司');
    await form.getByRole('textbox', { name: '第 2 部分金额（元）' }).fill('300000');
    await pick(page, '第 3 部分接收方', '江苏恒力制动系统有限公司（自留）');
    await form.getByRole('textbox', { name: '第 3 部分金额（元）' }).fill('199999.99');
    await expect.poll(() => page.getByTestId('split-sum').innerText(), { timeout: 30_000 }).toContain('少 ¥0.01');
    expect(await form.getByRole('button', { name: '提交拆分' }).isDisabled()).toBe(true);
    await shot(page, 'supplier-split-sum-short', false);
    await form.getByRole('textbox', { name: '第 3 部分金额（元）' }).fill('200,000.00');
    await expect.poll(() => page.getByTestId('split-sum').innerText(), { timeout: 30_000 }).toContain('相等');
    await shot(page, 'supplier-split-sum-check', false);
    await form.getByRole('button', { name: '提交拆分' }).click();
    await committed(page, '拆分转让');

    const tree = page.getByRole('tree');
    for (const id of ['HSY-2026-0004.1', 'HSY-2026-0004.2', 'HSY-2026-0004.3']) await tree.getByText(id, { exact: true }).waitFor();
    await shot(page, 'supplier-voucher-lineage');

    // The first kept part goes whole to a tier-3 supplier.
    await tree.getByText('HSY-2026-0004.1', { exact: true }).click();
    await page.getByRole('heading', { name: '电子凭证 HSY-2026-0004.1' }).waitFor();
    await page.getByRole('button', { name: '整笔转让' }).click();
    const transfer = await dialog(page, '整笔转让');
    await pick(page, '转让给', '马鞍山华钢特种材料有限公司');
    await transfer.getByRole('button', { name: '整笔转让' }).click();
    await committed(page, '整笔转让');
    // A transfer is a one-part split: the new child …0004.1.1 waits for the recipient's sign-for.
    const child = page.locator('.ant-tree-treenode').filter({ hasText: 'HSY-2026-0004.1.1' });
    await child.filter({ hasText: '马鞍山华钢特种材料有限公司' }).filter({ hasText: '待签收' }).waitFor();
    await shot(page, 'supplier-transferred');

    // The other kept part: apply to a bank for financing at no more than 4.5 % a year.
    await page.goto(`${baseUrl}/vouchers/HSY-2026-0004.3`);
    await page.getByRole('button', { name: '申请融资' }).click();
    const apply = await dialog(page, '申请融资');
    await pick(page, '资金方', '中国工商银行股份有限公司上海市分行');
    await apply.getByRole('textbox', { name: '可接受的最高年化贴现率（%）' }).fill('4.5');
    await apply.getByRole('button', { name: '申请融资' }).click();
    await committed(page, '申请融资');
    await page.getByRole('menuitem', { name: /供应商门户/ }).click();
    await page.getByRole('tab', { name: '融资申请' }).click();
    await page.getByRole('table', { name: '融资申请' }).getByText('待审批').first().waitFor();
    await shot(page, 'supplier-financing-applied');

    // The same portal on a phone: navigation folds away, tables scroll sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${baseUrl}/supplier?tab=vouchers`);
    await page.getByRole('table', { name: '我的凭证' }).getByRole('link', { name: 'HSY-2026-0003.2' }).waitFor();
    await shot(page, 'supplier-phone', false);
  });

  it('funder approves a financing application with a rate, and accepts a direct offer', async () => {
    await login(page, baseUrl, 'xu.jing');
    await page.getByRole('menuitem', { name: /资金方门户/ }).click();
    const inbox = page.getByRole('table', { name: '融资申请' });
    const row = inbox.getByRole('row').filter({ hasText: 'HSY-2026-0004.3' });
    await row.waitFor();
    await shot(page, 'funder-inbox');
    // 查验 of the backing invoices first; approval is offered once it passed.
    await row.getByRole('button', { name: /^查验发票/ }).click();
    await committed(page, '查验发票');
    await row.getByRole('button', { name: /^批准/ }).click();
    const approve = await dialog(page, /^批准 · /);
    await approve.getByRole('textbox', { name: '年化贴现率（%）' }).fill('4.2');
    await approve.getByRole('textbox', { name: '融资协议编号' }).fill('ICBC-GYL-2026-E2E-01');
    await approve.getByRole('button', { name: /^批准/ }).click();
    await committed(page, '批准');
    await page.getByRole('tab', { name: '全部申请' }).click();
    await page.getByRole('table', { name: '全部申请' }).getByRole('row').filter({ hasText: 'HSY-2026-0004.3' }).getByText('已批准').waitFor();
    await shot(page, 'funder-approved');

    // The seeded direct offer on HSY-2026-0003.2 (voucher module, no workflow).
    await page.getByRole('tab', { name: '融资申请' }).click();
    await page.getByRole('table', { name: '直接融资要约' }).getByRole('link', { name: 'HSY-2026-0003.2' }).click();
    await page.getByRole('button', { name: '批准融资' }).click();
    await committed(page, '批准融资');
    await expect.poll(() => page.locator('.ant-descriptions').getByText('已融资').count(), { timeout: 30_000 }).toBeGreaterThan(0);

    await page.getByRole('menuitem', { name: /资金方门户/ }).click();
    await page.getByRole('tab', { name: '融资资产' }).click();
    const portfolio = page.getByRole('table', { name: '融资资产' });
    await portfolio.getByRole('link', { name: 'HSY-2026-0003.2' }).waitFor();
    await portfolio.getByRole('link', { name: 'HSY-2026-0004.3' }).waitFor();
    await shot(page, 'funder-portfolio');
  });

  it('core enterprise issues a voucher against an invoice and sees maturities and outstanding by tier', async () => {
    await login(page, baseUrl, 'li.na');
    await page.getByRole('menuitem', { name: /核心企业门户/ }).click();
    await page.getByRole('table', { name: '近期到期' }).waitFor();
    await page.getByRole('tab', { name: '各级未兑付余额' }).click();
    await page.getByRole('table', { name: '各级未兑付余额' }).getByText('合计').waitFor();
    await shot(page, 'core-outstanding-by-tier');

    await page.getByRole('tab', { name: '开立凭证', exact: true }).click();
    const form = page.getByRole('form', { name: '开立凭证' });
    await form.getByLabel('凭证编号').fill('HSY-2026-0005');
    await pick(page, '一级供应商', '江苏恒力制动系统有限公司');
    const invoices = page.getByRole('combobox', { name: '关联发票' });
    await invoices.click();
    await invoices.fill('26312000000000180004');
    await page.locator('.ant-select-dropdown:visible .ant-select-item-option-active', { hasText: '26312000000000180004' }).waitFor();
    await invoices.press('Enter');
    await invoices.press('Escape');
    await form.getByText(/所选发票可用金额/).waitFor();
    await form.getByLabel('金额（元）').fill('100000');
    await form.getByLabel('到期日').fill('2027-03-01');
    await form.getByLabel('到期日').press('Enter');
    await form.getByLabel('合同编号').fill('HS-CG-2026-0800');
    await shot(page, 'core-issue-voucher', false);
    await form.getByRole('button', { name: '开立凭证' }).click();
    await committed(page, '开立凭证');
    await page.getByRole('heading', { name: '电子凭证 HSY-2026-0005' }).waitFor();
    await page.locator('.ant-descriptions').getByText('待签收').waitFor();
    await shot(page, 'core-issued');
  });

  it.skipIf(!sdlHas('iotAlerts'))('warehouse sees an excursion alert and the bin’s readings above the threshold', async () => {
    await login(page, baseUrl, 'lin.xue');
    await page.getByRole('menuitem', { name: /仓储方门户/ }).click();
    await page.getByRole('tab', { name: '告警' }).click();
    // The seeded device CMST-TH-A07 (bin A-07, steel coils) goes above 70 %RH shortly after the demo starts.
    await page.getByRole('table', { name: '告警' }).getByRole('row').filter({ hasText: 'CMST-TH-A07' }).first().waitFor({ timeout: 120_000 });
    await shot(page, 'warehouse-alerts');
    await page.getByRole('tab', { name: '库位与实时读数' }).click();
    await page.getByRole('figure', { name: /CMST-TH-A07 的湿度曲线.*超限 [1-9]/ }).waitFor({ timeout: 60_000 });
    await shot(page, 'warehouse-bins');

    // The alert flagged the receipt on those goods; the operator inspects and clears the flag.
    await page.getByRole('tab', { name: '仓单', exact: true }).click();
    const receipt = page.getByRole('table', { name: '仓单' }).getByRole('row').filter({ hasText: 'CMST-WR-2026-0001' });
    await receipt.getByText('异常标记', { exact: true }).waitFor();
    await shot(page, 'warehouse-receipts');
    await receipt.getByRole('button', { name: /解除异常标记/ }).click();
    const clear = await dialog(page, '解除异常标记 · CMST-WR-2026-0001');
    await clear.getByRole('textbox', { name: '原因' }).fill('已检查：除湿后钢卷无锈蚀');
    await clear.getByRole('button', { name: /解除异常标记/ }).click();
    await committed(page, '解除异常标记 · CMST-WR-2026-0001');
    await expect.poll(() => receipt.getByText('异常标记', { exact: true }).count(), { timeout: 30_000 }).toBe(0);
  });

  it('regulator freezes and unfreezes a voucher tree; the explorer updates live and verifies a finality certificate', async () => {
    await login(page, baseUrl, 'supervisor');
    await page.getByRole('menuitem', { name: /监管门户/ }).click();
    const all = page.getByRole('table', { name: '全部凭证' });
    await all.getByRole('link', { name: 'HSY-2026-0001', exact: true }).waitFor();
    await shot(page, 'regulator-vouchers');

    await all.getByRole('link', { name: 'HSY-2026-0003', exact: true }).click();
    await page.getByRole('button', { name: /冻\s*结/ }).click();
    const freeze = await dialog(page, '冻结');
    await freeze.getByRole('textbox', { name: '原因' }).fill('逾期未付，监管调查');
    await freeze.getByRole('button', { name: /冻\s*结/ }).click();
    await committed(page, '冻结');
    await page.locator('.ant-descriptions').getByText('已冻结').waitFor();
    await shot(page, 'regulator-frozen');
    await page.getByRole('button', { name: /解\s*冻/ }).click();
    const unfreeze = await dialog(page, '解冻');
    await unfreeze.getByRole('textbox', { name: '原因' }).fill('调查结束');
    await unfreeze.getByRole('button', { name: /解\s*冻/ }).click();
    await committed(page, '解冻');
    await page.getByRole('button', { name: /冻\s*结/ }).waitFor();

    await page.getByRole('menuitem', { name: /联盟治理/ }).click();
    await page.getByText('治理委员会').waitFor();
    await shot(page, 'governance');

    await page.getByRole('menuitem', { name: /区块浏览器/ }).click();
    const blocks = page.getByRole('table', { name: '区块列表' });
    const newest = async () => Number((await blocks.getByRole('link').first().innerText()).replace('#', ''));
    await blocks.getByRole('link').first().waitFor();
    const first = await newest();
    // New blocks arrive over the newBlocks subscription, without a reload.
    await expect.poll(newest, { timeout: 60_000 }).toBeGreaterThan(first);
    await shot(page, 'explorer-blocks');
    await blocks.getByRole('link').first().click();
    await page.getByRole('heading', { name: /区块 #\d+/ }).waitFor();
    // The finality certificate is checked in the browser: header hash and SM2 precommits.
    await page.getByText('已在浏览器中验证最终性证书').waitFor();
    await shot(page, 'explorer-block');

    // English switch.
    await page.getByRole('button', { name: '切换语言为英文' }).click();
    await page.getByText('Finality certificate verified in your browser').waitFor();
    await page.getByRole('menuitem', { name: /Regulator portal/ }).waitFor();
    await shot(page, 'explorer-block-en');
  });
});
