/** Browser lifecycle shared by the role tests: one chromium, a fresh zh-CN context per test. */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';

import { launch, login } from '../browser';
import { FAILURES } from '../demo';
import { observe, reportFailure } from '../diagnose';

export interface Ctx {
  page: Page;
  context: BrowserContext;
}

export function useBrowser(): Ctx {
  const ctx = {} as Ctx;
  let browser: Browser;
  beforeAll(async () => {
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    ctx.context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', acceptDownloads: true });
    ctx.page = await ctx.context.newPage();
    ctx.page.setDefaultTimeout(30_000);
    await observe(ctx.page);
  });
  afterEach(async ({ task }) => {
    // Any failure leaves a report (screenshot, text, dialogs, journal), unless `committed` made one already.
    const error = task.result?.errors?.[0]?.message ?? '';
    if (task.result?.state === 'fail' && !error.includes(FAILURES) && ctx.page && !ctx.page.isClosed()) {
      const { summary } = await reportFailure(ctx.page, task.name, error.split('\n')[0] ?? '');
      console.error(`failure report of "${task.name}":\n  ${summary}`);
    }
    await ctx.context?.close();
  });
  return ctx;
}

/** Open a portal tab by URL (`/supplier?tab=…`): the tab is part of the address so it can be linked. */
export async function openTab(page: Page, baseUrl: string, portal: string, tab: string): Promise<void> {
  await page.goto(`${baseUrl}/${portal}?tab=${tab}`);
}

/** Sign in as another user in the same page: the session lives in sessionStorage, so it is dropped first. */
export async function switchUser(page: Page, baseUrl: string, username: string): Promise<void> {
  await page.evaluate(() => sessionStorage.clear());
  await login(page, baseUrl, username);
}
