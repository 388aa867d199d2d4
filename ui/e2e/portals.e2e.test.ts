/**
 * Role portals against a running `scf demo` (seeded with seeds/story.toml): a supplier signs for, splits and
 * transfers a voucher; a funder approves financing; a warehouse sees an excursion alert; the regulator and
 * explorer views render.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, inject, it } from 'vitest';

import { launch, login, shot } from './browser';
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
});
afterEach(async () => {
  await context?.close();
});

/** Wait for the "committed in block #n" message of a transaction. */
async function committed(p: Page): Promise<void> {
  await p.locator('.ant-message').getByText(/已上链（区块 #\d+）/).last().waitFor();
}

async function pick(p: Page, combobox: string, option: string): Promise<void> {
  await p.getByRole('combobox', { name: combobox }).click();
  await p.locator(`.ant-select-dropdown:visible .ant-select-item-option[title="${option}"]`).click();
}

describe.sequential('portals', () => {
  it('supplier signs for, splits and transfers a voucher', async () => {
    await login(page, baseUrl, 'chen.jie');
    await shot(page, 'supplier-home', false);
    await page.getByRole('menuitem', { name: /供应商门户/ }).click();
    await page.getByRole('tab', { name: '我的待办' }).click();
    await page.getByRole('link', { name: 'HSY-2026-0004', exact: true }).first().click();

    await page.getByRole('button', { name: /签\s*收/ }).click();
    await committed(page);
    await expect.poll(() => page.locator('.ant-descriptions').getByText('有效').count()).toBeGreaterThan(0);

    await page.getByRole('button', { name: '拆分转让' }).click();
    const form = page.getByRole('form', { name: '拆分转让' });
    await form.getByRole('textbox', { name: '第 1 部分金额（元）' }).fill('500000');
    await pick(page, '第 2 部分接收方', '常州精锻铸造有限公司');
    await form.getByRole('textbox', { name: '第 2 部分金额（元）' }).fill('299999.99');
    await expect.poll(() => page.getByTestId('split-sum').innerText()).toContain('少 ¥0.01');
    expect(await form.getByRole('button', { name: '提交拆分' }).isDisabled()).toBe(true);
    await form.getByRole('textbox', { name: '第 2 部分金额（元）' }).fill('300000.00');
    await expect.poll(() => page.getByTestId('split-sum').innerText()).toContain('相等');
    await shot(page, 'supplier-split-sum-check', false);
    await form.getByRole('button', { name: '提交拆分' }).click();
    await committed(page);

    const tree = page.getByRole('tree');
    await tree.getByText('HSY-2026-0004.1').waitFor();
    await tree.getByText('HSY-2026-0004.2').waitFor();
    await shot(page, 'supplier-voucher-lineage');

    // The part kept (…0004.1) is transferred whole to a tier-3 supplier.
    await tree.getByText('HSY-2026-0004.1').click();
    await page.getByRole('heading', { name: '电子凭证 HSY-2026-0004.1' }).waitFor();
    await page.getByRole('button', { name: '整笔转让' }).click();
    const dialog = page.getByRole('dialog');
    await pick(page, '转让给', '马鞍山华钢特种材料有限公司');
    await dialog.getByRole('button', { name: '整笔转让' }).click();
    await committed(page);
    await expect.poll(() => page.locator('.ant-descriptions').getByText('马鞍山华钢特种材料有限公司').count()).toBeGreaterThan(0);
    await expect.poll(() => page.locator('.ant-descriptions').getByText('待签收').count()).toBeGreaterThan(0);
    await shot(page, 'supplier-transferred');
  });

  it('funder approves a financing application', async () => {
    await login(page, baseUrl, 'xu.jing');
    await page.getByRole('menuitem', { name: /资金方门户/ }).click();
    const inbox = page.getByRole('table', { name: '融资申请' });
    await inbox.getByRole('link', { name: 'HSY-2026-0003.2' }).waitFor();
    await shot(page, 'funder-inbox');
    await inbox.getByRole('link', { name: 'HSY-2026-0003.2' }).click();
    await page.getByRole('button', { name: '批准融资' }).click();
    await committed(page);
    await expect.poll(() => page.locator('.ant-descriptions').getByText('已融资').count()).toBeGreaterThan(0);
    await shot(page, 'funder-approved');

    await page.getByRole('menuitem', { name: /资金方门户/ }).click();
    await page.getByRole('tab', { name: '融资资产' }).click();
    await page.getByRole('table', { name: '融资资产' }).getByRole('link', { name: 'HSY-2026-0003.2' }).waitFor();
    await shot(page, 'funder-portfolio');
  });

  it.skipIf(!sdlHas('iotAlerts') && !sdlHas('alerts'))('warehouse sees an excursion alert', async () => {
    await login(page, baseUrl, 'lin.xue');
    await page.getByRole('menuitem', { name: /仓储方门户/ }).click();
    await page.getByRole('tab', { name: '告警' }).click();
    await page.getByRole('table', { name: '告警' }).getByText(/超限/).first().waitFor();
    await shot(page, 'warehouse-alerts');
  });

  it('regulator sees every voucher and the block explorer shows blocks and a block’s transactions', async () => {
    await login(page, baseUrl, 'supervisor');
    await page.getByRole('menuitem', { name: /监管门户/ }).click();
    await page.getByRole('table', { name: '全部凭证' }).getByRole('link', { name: 'HSY-2026-0001', exact: true }).waitFor();
    await shot(page, 'regulator-vouchers');

    await page.getByRole('menuitem', { name: /区块浏览器/ }).click();
    const blocks = page.getByRole('table', { name: '区块列表' });
    await blocks.getByRole('link').first().waitFor();
    await shot(page, 'explorer-blocks');
    await blocks.getByRole('link').first().click();
    await page.getByRole('heading', { name: /区块 #\d+/ }).waitFor();
    await shot(page, 'explorer-block');
  });
});
