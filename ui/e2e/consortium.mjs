// The browser part of the four-member test (tests/consortium/main.rs runs it with the members' URLs):
// the core enterprise issues a voucher in member A's portal, and the supplier signs for it in member B's
// portal — two members' own APIs and read models, one chain between them. playwright-core drives
// Debian's chromium; no browser is downloaded. Plain ESM so it runs with `node` alone.
import { existsSync } from 'node:fs';

import { chromium } from 'playwright-core';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const [aUrl, aUser, bUrl, bUser, password] = ['SCF_A_URL', 'SCF_A_USER', 'SCF_B_URL', 'SCF_B_USER', 'SCF_PASSWORD'].map(env);
const voucherNo = process.env.SCF_VOUCHER_NO ?? 'CV-UI-1';
const invoice = env('SCF_INVOICE');
const supplierName = env('SCF_SUPPLIER_NAME');

const executablePath = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p));
if (!executablePath) throw new Error('no chromium (apt-get install chromium, or set CHROMIUM_PATH)');
const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });

async function signIn(baseUrl, username) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel('用户名').fill(username);
  await page.getByLabel('密码').fill(password);
  await page.getByRole('button', { name: /登\s*录/ }).click();
  await page.getByRole('navigation', { name: '主导航' }).first().waitFor();
  return page;
}

/** The outcome message of `action`: "「action」已上链（区块 #n）", or the refusal the UI shows. */
async function committed(page, action) {
  const done = page.locator('.ant-message').getByText(`「${action}」已上链`);
  const failed = page.locator('.ant-message').getByText(`「${action}」失败`);
  await done.or(failed).first().waitFor({ timeout: 60_000 });
  if (await failed.count()) throw new Error(`${action}: ${await failed.first().innerText()}`);
}

/**
 * Type into a searchable select and click the option titled exactly `option` (`exact`), or the first one
 * containing it. Exact matters for organisations: "SUP 有限公司" is contained in "NEWSUP 有限公司".
 */
async function pick(page, combobox, option, exact) {
  const box = page.getByRole('combobox', { name: combobox, exact: true });
  await box.click();
  await box.fill(option);
  const options = page.locator('.ant-select-dropdown:visible .ant-select-item-option');
  const item = exact ? options.and(page.locator(`[title="${option}"]`)) : options.filter({ hasText: option });
  await item.first().click();
}

try {
  // Member A: the core enterprise issues the voucher against the supplier's invoice.
  const a = await signIn(aUrl, aUser);
  await a.getByRole('menuitem', { name: /核心企业/ }).click();
  await a.getByRole('tab', { name: '开立凭证', exact: true }).click();
  const form = a.getByRole('form', { name: '开立凭证' });
  await form.getByLabel('凭证编号').fill(voucherNo);
  await pick(a, '一级供应商', supplierName, true);
  await pick(a, '关联发票', invoice, false);
  await a.getByRole('combobox', { name: '关联发票', exact: true }).press('Escape');
  await form.getByLabel('金额（元）').fill('3000');
  const due = new Date(Date.now() + 8 * 3600_000 + 60 * 86_400_000).toISOString().slice(0, 10);
  await form.getByLabel('到期日').fill(due);
  await form.getByLabel('到期日').press('Enter');
  await form.getByLabel('合同编号').fill(`HT-${voucherNo}`);
  await form.getByRole('button', { name: '开立凭证' }).click();
  await committed(a, '开立凭证');

  // Member B: the supplier finds it (once B's read model has it) and signs for it.
  const b = await signIn(bUrl, bUser);
  // The page fetches the voucher after it loads, so each attempt waits for the button to render (a busy
  // machine takes seconds) before reloading; a bare isVisible() right after goto() raced the fetch.
  const deadline = Date.now() + 120_000;
  const sign = b.getByRole('button', { name: /签\s*收/ });
  for (;;) {
    await b.goto(`${bUrl}/vouchers/${voucherNo}`);
    const shown = await sign
      .first()
      .waitFor({ state: 'visible', timeout: 15_000 })
      .then(() => true, () => false);
    if (shown) break;
    if (Date.now() > deadline) throw new Error(`${voucherNo} never offered a sign-for button on member B`);
  }
  await b.getByRole('button', { name: /签\s*收/ }).first().click();
  await committed(b, '签收');
  console.log(`issued ${voucherNo} on A and signed for it on B`);
} finally {
  await browser.close();
}
