/**
 * The consumer's phone: the Digital Link a lot's QR code encodes opens the public page, which verifies every
 * event's proof in the browser (SM3 Merkle proofs, SM2 commit certificate). A proof altered in transit must
 * show as not verified.
 */
import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';

import { launch, shot } from './browser';
import { sdlHas } from './sdl';

const baseUrl = inject('baseUrl');
const LINK = '/01/06901234000337/10/Y260302';
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
  // A phone: iPhone-12-sized viewport, touch, mobile user agent.
  context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    userAgent:
      'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36',
  });
  page = await context.newPage();
  page.setDefaultTimeout(60_000);
});
afterEach(async () => {
  await context?.close();
});

/** Flip one byte (two hex digits) in the middle of a hex string. */
export function flipHexByte(hex: string): string {
  const body = hex.startsWith('0x') ? hex.slice(2) : hex;
  const prefix = hex.length - body.length;
  const i = prefix + Math.floor(body.length / 4) * 2;
  const byte = parseInt(hex.slice(i, i + 2), 16) ^ 0xff;
  return hex.slice(0, i) + byte.toString(16).padStart(2, '0') + hex.slice(i + 2);
}

describe.skipIf(!sdlHas('lotPage'))('consumer scan page', () => {
  it('shows the timeline and a verified badge on a phone', async () => {
    await page.goto(baseUrl + LINK);
    await page.getByText('已上链验证', { exact: true }).waitFor();
    const steps = page.locator('.ant-timeline-item');
    expect(await steps.count()).toBeGreaterThan(1);
    expect(await page.getByText(/本记录已在区块 #\d+ 上链并经验证/).count()).toBe(await steps.count());
    await shot(page, 'consumer-verified');
  });

  it('shows a tampered event as not verified', async () => {
    let tampered = false;
    await page.route('**/graphql', async (route: Route) => {
      const body = route.request().postData() ?? '';
      if (!body.includes('lotPage')) return route.continue();
      const res = await route.fetch();
      type Proof = { receiptHex: string; receiptProof: { steps: { sibling: string }[] } };
      const json = (await res.json()) as { data: { lotPage: { steps: { proof: Proof | null }[] } } };
      const step = json.data.lotPage.steps.find((s) => s.proof);
      if (step?.proof) {
        // One byte of the receipt's Merkle proof (or of the receipt itself when the block had one receipt).
        const sibling = step.proof.receiptProof.steps[0];
        if (sibling) sibling.sibling = flipHexByte(sibling.sibling);
        else step.proof.receiptHex = flipHexByte(step.proof.receiptHex);
        tampered = true;
      }
      await route.fulfill({ response: res, json });
    });
    await page.goto(baseUrl + LINK);
    await page.getByText('部分记录验证未通过', { exact: true }).waitFor();
    expect(tampered).toBe(true);
    expect(await page.getByText(/本记录验证未通过/).count()).toBe(1);
    await shot(page, 'consumer-tampered');
  });
});
